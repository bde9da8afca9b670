/**
 * Moving an open link (network namespaces, test/helpers/natlab.ts): a client behind NAT B calls the
 * robot behind NAT A in a loop over a direct link and watches a signal, when NAT B changes its outside
 * address (a phone going from Wi-Fi to 4G): the old path breaks, the link restarts ICE and moves to the
 * new one, and the session on it goes on: every call answered, every frame of the signal received in
 * order, no subscription made again. Skipped, loudly, where the kernel refuses namespaces.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ADDR, finished, ready } from '../helpers/natlab.js';
import { iceFixture, iceLab } from '../helpers/ice-lab.js';

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

const L = iceLab();

/** NAT B gets a new outside address; the old one, and every mapping made with it, is gone. */
function renumberNatB(): void {
  const ip = (...args: string[]) => execFileSync('ip', ['-n', L.lab!.ns.natB, ...args], { stdio: 'pipe' });
  ip('addr', 'del', `${ADDR.natB}/24`, 'dev', 'wan0');
  ip('addr', 'add', `${MOVED}/24`, 'dev', 'wan0');
  ip('route', 'replace', 'default', 'via', '203.0.113.254');
  try {
    execFileSync('ip', ['netns', 'exec', L.lab!.ns.natB, 'conntrack', '-F'], { stdio: 'pipe' });
  } catch {
    // the kernel dropped the masquerade mappings with the address already
  }
}

describe('moving an open direct link', () => {
  it(
    'when the NAT’s outside address changes, the link moves and its calls and signal go on',
    { timeout: 120_000 },
    async (t) => {
      if (L.skipped(t)) return;
      const p = L.lab!.run(L.lab!.ns.b, iceFixture('ice-move'), [L.gatewayUrl, JSON.stringify(L.servers), '400']);
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
