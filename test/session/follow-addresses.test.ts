/**
 * A robot whose outside address changes (issue 20, docs/roaming.md): a ServiceDirectory and a service
 * listening on wildcard hosts, in a network namespace whose outside interface moves from one subnet to
 * another. The directory's answers, read over TCP, follow: the new address appears, the old one goes,
 * the internal one stays; IPv6 addresses still in duplicate address detection, or that failed it, are
 * never listed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsonLines, ready, type Running } from '../helpers/processes.js';
import { HOTSPOT, INTERNAL, RoamLab } from '../helpers/roamlab.js';

const fixture = fileURLToPath(new URL('./fixtures/roam-robot.js', import.meta.url));

interface Report {
  echo: string[];
  sd: string[];
  changes: number;
}

/** Asks the fixture until `ok` holds for its answer (every 50 ms, at most `ms`); returns the answer and when. */
async function until(p: Running, ok: (r: Report) => boolean, ms = 8000): Promise<{ r: Report; ms: number }> {
  const t0 = Date.now();
  let last: Report | undefined;
  while (Date.now() - t0 < ms) {
    const n = jsonLines(p.out()).length;
    p.child.stdin!.write('info\n');
    while (jsonLines(p.out()).length === n && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
    last = jsonLines(p.out()).at(-1) as unknown as Report;
    if (ok(last)) return { r: last, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not seen within ${ms} ms; last answer ${JSON.stringify(last)}; stderr ${p.err()}`);
}

const has = (list: string[], host: string) => list.some((e) => e.includes(`//${host}:`) || e.includes(`//[${host}]:`));

for (const mode of ['events', 'poll'] as const) {
  describe(`a robot's endpoints follow its addresses (${mode === 'events' ? 'ip monitor' : 'polling only'})`, () => {
    let lab: RoamLab | undefined;
    let refused = '';
    let robot: Running;
    before(async () => {
      const made = RoamLab.create();
      if (typeof made === 'string') return void (refused = made);
      lab = made;
      robot = lab.run('robot', fixture, [mode, '300'], 'pipe');
      await ready(robot, 'roam-robot');
    });
    after(() => lab?.close());

    it('lists the new outside address and drops the old one; the internal one stays', async (t) => {
      if (lab === undefined) return t.skip(refused);
      // An interface is listed once its link is up with a carrier (a veth: once both ends are up).
      await until(robot, (r) => has(r.echo, HOTSPOT.one.robot) && has(r.echo, INTERNAL) && has(r.sd, INTERNAL));

      lab.move('one', 'two');
      const moved = await until(robot, (r) => has(r.echo, HOTSPOT.two.robot) && !has(r.echo, HOTSPOT.one.robot));
      t.diagnostic(`service endpoints moved ${moved.ms} ms after the address (${mode})`);
      assert.ok(has(moved.r.echo, INTERNAL), 'the internal address is still listed');
      assert.ok(moved.r.changes >= 1, 'the session told its listeners');
      const sd = await until(robot, (r) => has(r.sd, HOTSPOT.two.robot) && !has(r.sd, HOTSPOT.one.robot));
      assert.ok(has(sd.r.sd, INTERNAL));

      lab.leave('two');
      const gone = await until(robot, (r) => !has(r.echo, HOTSPOT.two.robot));
      assert.ok(has(gone.r.echo, INTERNAL) && has(gone.r.echo, '127.0.0.1'), JSON.stringify(gone.r));
      lab.join('one');
      await until(robot, (r) => has(r.echo, HOTSPOT.one.robot));
    });

    it('never lists an IPv6 address that is still tentative or failed duplicate address detection', async (t) => {
      if (lab === undefined || mode === 'poll') return t.skip(refused || 'once is enough');
      // The client holds 2001:db8::7 already: the robot's copy fails DAD; 2001:db8::8 passes it.
      lab.net.ip('client', 'addr', 'add', '2001:db8::7/64', 'dev', 'eth0', 'nodad');
      lab.net.ip('robot', 'addr', 'add', '2001:db8::7/64', 'dev', 'out0');
      lab.net.ip('robot', 'addr', 'add', '2001:db8::8/64', 'dev', 'out0');
      const early = await until(robot, () => true);
      const flags = lab.net.ip('robot', '-6', 'addr', 'show', 'dev', 'out0');
      if (/2001:db8::8\/64 .*tentative/.test(flags.replace(/\n\s+/g, ' ')))
        assert.ok(!has(early.r.echo, '2001:db8::8'), `listed while tentative: ${flags}`);
      const ok = await until(robot, (r) => has(r.echo, '2001:db8::8'));
      assert.match(lab.net.ip('robot', '-6', 'addr', 'show', 'dev', 'out0'), /2001:db8::7\/64.*dadfailed/s);
      assert.ok(!has(ok.r.echo, '2001:db8::7'), `a duplicate address is listed: ${ok.r.echo.join(' ')}`);
    });
  });
}
