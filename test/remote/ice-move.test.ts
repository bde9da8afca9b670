/**
 * Moving an open link (network namespaces, test/helpers/natlab.ts): a client behind NAT B calls the
 * robot behind NAT A in a loop over a direct link and watches a signal, when NAT B changes its outside
 * address (a phone going from Wi-Fi to 4G): the old path breaks, the link restarts ICE and moves to the
 * new one, and the session on it goes on: every call answered, every frame of the signal received in
 * order, no subscription made again. Skipped, loudly, where the kernel refuses namespaces.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADDR, NatLab, finished, ready, type Running, type Turn } from '../helpers/natlab.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

interface Candidate {
  type: string;
  address: string;
  port: number;
}
interface Side {
  path: string;
  local?: Candidate;
  remote?: Candidate;
}
interface Outcome {
  before: Side & { resumable: boolean };
  after: Side & { closed: boolean };
  moves: (Side & { reason: string; ms: number })[];
  calls: { made: number; answered: number; failed: string[] };
  frames: { total: number; received: number; inOrder: boolean };
}

/** NAT B's new outside address. */
const MOVED = '203.0.113.21';

let lab: NatLab | undefined;
let refused: string | undefined;
let turn: Turn;
let gatewayUrl = '';
let robot: Running;
let servers: string[] = [];

before(
  async () => {
    const made = NatLab.create('cone');
    if (typeof made === 'string') {
      refused = made;
      return;
    }
    lab = made;
    turn = lab.startTurn();
    servers = [turn.stun, turn.turn];
    const signal = lab.run(lab.ns.pub, fixture('ice-signal'), [ADDR.pub]);
    gatewayUrl = (await ready<{ url: string }>(signal, 'the public gateway')).url;
    robot = lab.run(lab.ns.a, fixture('ice-robot'), [gatewayUrl, JSON.stringify(servers)]);
    await ready(robot, 'the robot');
  },
  { timeout: 20_000 },
);

after(async () => {
  await lab?.close();
});

/** NAT B gets a new outside address; the old one, and every mapping made with it, is gone. */
function renumberNatB(): void {
  const ip = (...args: string[]) => execFileSync('ip', ['-n', lab!.ns.natB, ...args], { stdio: 'pipe' });
  ip('addr', 'del', `${ADDR.natB}/24`, 'dev', 'wan0');
  ip('addr', 'add', `${MOVED}/24`, 'dev', 'wan0');
  ip('route', 'replace', 'default', 'via', '203.0.113.254');
  try {
    execFileSync('ip', ['netns', 'exec', lab!.ns.natB, 'conntrack', '-F'], { stdio: 'pipe' });
  } catch {
    // the kernel dropped the masquerade mappings with the address already
  }
}

describe('moving an open direct link', () => {
  it(
    'when the NAT’s outside address changes, the link moves and its calls and signal go on',
    { timeout: 120_000 },
    async (t) => {
      if (refused !== undefined) {
        console.error(`\n*** SKIPPED: direct-link tests need network namespaces: ${refused} ***\n`);
        t.skip(refused);
        return;
      }
      const p = lab!.run(lab!.ns.b, fixture('ice-move'), [gatewayUrl, JSON.stringify(servers), '400']);
      const { ready: was } = await ready<{ ready: Outcome['before'] }>(p, 'the client', 20_000);
      assert.equal(was.path, 'direct');
      assert.equal(was.resumable, true, 'the robot’s host knows how to move links');
      assert.equal(was.local?.address, ADDR.natB, 'the link went out through NAT B’s first address');
      await new Promise((r) => setTimeout(r, 1000));
      renumberNatB();
      const o = await finished<Outcome>(p, 'the client', 100_000);
      t.diagnostic(`moves: ${JSON.stringify(o.moves)}; calls ${o.calls.answered}/${o.calls.made}`);
      assert.ok(o.moves.length >= 1, 'the link moved');
      const m = o.moves[0];
      assert.match(m.reason, /nothing heard from the peer|ICE (disconnected|failed)/);
      assert.equal(o.after.closed, false);
      assert.ok(['direct', 'relay'].includes(o.after.path), o.after.path);
      assert.equal(o.after.local?.address === MOVED || o.after.local?.type === 'relay', true, JSON.stringify(o.after));
      assert.deepEqual(o.calls.failed, [], 'no call failed');
      assert.equal(o.calls.answered, o.calls.made, 'every call answered, intact');
      assert.equal(o.frames.received, o.frames.total, 'every frame of the signal arrived');
      assert.ok(o.frames.inOrder, 'in order, none twice');
    },
  );
});
