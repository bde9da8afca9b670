/**
 * The robot's network goes down and up under a real XMPP server (issue 20, docs/roaming.md):
 *
 *   robot (10.61.0.2) eth0 ── veth ── s0 server (10.61.0.1): Prosody, a watcher, a client
 *
 * The robot (ServiceDirectory, `Ticker`, gateway, XMPP gateway) reaches Prosody over the veth only; the
 * client (alice) calls `Ticker.add` in a loop through `xmpp://robot@example.test` and iterates
 * `Ticker.tick`; a watcher follows the robot's presence. The robot's link is set down (no FIN: the
 * connection goes silent), then up. Shown: the robot notices by its pings and logs in again by itself,
 * the watcher sees it go and come back, the client's loop goes on with every call accounted for and
 * the gap reported. The server's namespace has short TCP keep-alive and retry settings, as a server
 * meant to notice vanished robots quickly would (docs/remote.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Netns } from '../helpers/netns.js';
import { jsonLines, ready, type Running } from '../helpers/processes.js';
import { ask, type RoamReport as Report } from '../helpers/roam-report.js';
import { Prosody } from '../helpers/prosody.js';

const fixture = (path: string) => fileURLToPath(new URL(`./${path}.js`, import.meta.url));
const SERVER = '10.61.0.1';
const ROBOT = '10.61.0.2';
const PING_MS = 1000;

/** The watcher's presence changes seen after `since`. */
const seen = (w: Running, since: number) =>
  (jsonLines(w.out()) as unknown as { online: boolean; at: number }[]).filter((c) => c.at >= since);

async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the robot's network goes down and up (Prosody, network namespaces)", () => {
  let net: Netns<'server' | 'robot'> | undefined;
  let refused = '';
  let server: Prosody;
  let robot: Running;
  let watcher: Running;
  let client: Running;
  before(async () => {
    const made = Netns.create(['server', 'robot'] as const, 'qi-xmpp');
    if (typeof made === 'string') return void (refused = made);
    net = made;
    net.ip('robot', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 's0', 'netns', net.ns.server);
    net.ip('robot', 'addr', 'add', `${ROBOT}/24`, 'dev', 'eth0');
    net.ip('server', 'addr', 'add', `${SERVER}/24`, 'dev', 's0');
    for (const role of ['robot', 'server'] as const)
      for (const dev of ['lo', role === 'robot' ? 'eth0' : 's0']) net.ip(role, 'link', 'set', dev, 'up');
    // The server notices a vanished peer in seconds, not hours (keep-alive when idle, retries otherwise).
    for (const [k, v] of Object.entries({
      tcp_keepalive_time: 1,
      tcp_keepalive_intvl: 1,
      tcp_keepalive_probes: 2,
      tcp_retries2: 4,
    }))
      net.exec('server', 'sysctl', ['-qw', `net.ipv4.${k}=${v}`]);
    const p = await Prosody.start({ netns: net.ns.server, host: SERVER });
    if (typeof p === 'string') return void (refused = p);
    server = p;
    for (const n of ['robot', 'alice']) server.register(n, `${n}-pw`);
    robot = net.run('robot', fixture('fixtures/xmpp-robot'), [server.service, String(PING_MS)], {}, 'pipe');
    await ready(robot, 'xmpp-robot', 15_000);
    watcher = net.run('server', fixture('fixtures/xmpp-watch'), [server.service]);
    await ready(watcher, 'xmpp-watch', 15_000);
    const env = { QI_XMPP_SERVICE: server.service, QI_XMPP_JID: 'alice@example.test', QI_XMPP_PASSWORD: 'alice-pw' };
    client = net.run('server', fixture('../session/fixtures/roam-client'), ['xmpp://robot@example.test'], env, 'pipe');
    await ready(client, 'roam-client', 15_000);
  });
  after(async () => {
    await server?.stop(true);
    await net?.close();
  });

  it('the robot logs in again by itself, the watcher sees it go and come back, the client goes on', async (t) => {
    if (net === undefined) return t.skip(refused);
    const before = await until(
      'calls answered',
      () => ask<Report>(client),
      (r) => r.answered > 20,
      10_000,
    );
    assert.equal(before.failed.length, 0, before.failed.join('\n'));
    const lost0 = (await ask<{ lost: number }>(robot)).lost;

    const down = Date.now();
    net.ip('robot', 'link', 'set', 'eth0', 'down');
    await until(
      'the robot notices',
      () => ask<{ lost: number }>(robot),
      (r) => r.lost > lost0,
      15_000,
    );
    const noticed = Date.now() - down;
    await until(
      'the watcher sees it offline',
      () => seen(watcher, down),
      (s) => s.some((c) => !c.online),
      20_000,
    );
    const offline = seen(watcher, down).find((c) => !c.online)!.at - down;
    const stalled = await ask<Report>(client);
    await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - down))));

    const up = Date.now();
    net.ip('robot', 'link', 'set', 'eth0', 'up');
    await until(
      'the robot is back',
      () => ask<{ online: boolean }>(robot),
      (r) => r.online,
      15_000,
    );
    const back = Date.now() - up;
    await until(
      'the watcher sees it online',
      () => seen(watcher, up),
      (s) => s.some((c) => c.online),
      10_000,
    );
    const online = seen(watcher, up).find((c) => c.online)!.at - up;
    await until(
      'a call answered again',
      () => ask<Report>(client),
      (r) => r.answered > stalled.answered,
      20_000,
    );
    const firstAnswer = Date.now() - up;
    const resumed = await until(
      'the loop goes on',
      () => ask<Report>(client),
      (r) => r.answered > stalled.answered + 20 && r.afterGap > 0,
      20_000,
    );
    const last = await ask<Report>(client, 'quit');
    const counts = await ask<{ lost: number; attempts: number; reconnected: number }>(robot);
    t.diagnostic(
      `robot noticed ${noticed} ms after down, watcher saw offline at ${offline} ms; back online ${back} ms after up (watcher ${online} ms), first call answered ${firstAnswer} ms after up; robot ${JSON.stringify(counts)}`,
    );
    t.diagnostic(
      `${last.made} calls: ${last.answered} answered, ${last.failed.length} failed (${[...new Set(last.failed)].join(' | ')}); gap ${JSON.stringify(resumed.gap)}`,
    );
    assert.ok(last.final);
    assert.equal(last.answered + last.failed.length, last.made, 'every call answered or failed');
    for (const f of last.failed)
      assert.match(f, /closed while Ticker\.add was waiting|XMPP connection .* was lost|went offline|not online/);
    assert.ok(last.gaps >= 1, 'the gap is reported');
  });
});
