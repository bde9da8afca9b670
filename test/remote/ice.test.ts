/**
 * Direct links on a real network (test/helpers/natlab.ts): a robot behind NAT A and a client behind
 * NAT B reach each other only through a gateway on a public host, which also runs coturn (STUN and
 * TURN). The client opens a direct link through the gateway's signaling; with cone NATs it goes
 * straight through both NATs, with symmetric NATs through the TURN relay, and with the TURN server
 * down it stays on the gateway, saying why. A 30-second stream of frames crosses the direct link
 * complete and in order. Skipped, loudly, where the kernel refuses namespaces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADDR, finished, ready } from '../helpers/natlab.js';
import { iceFixture, iceLab } from '../helpers/ice-lab.js';

interface Candidate {
  type: string;
  address: string;
  port: number;
}

interface Outcome {
  path: 'direct' | 'relay' | 'gateway';
  reason?: string;
  local?: Candidate;
  remote?: Candidate;
  setupMs: number;
  route: string;
  caller: string;
  echoSame: boolean;
  echoMs: number;
  stream?: {
    count: number;
    received: number;
    inOrder: boolean;
    intact: boolean;
    last: number;
    ms: number;
    bytes: number;
    p50: number;
    p99: number;
    max: number;
  };
}

interface Mapping {
  echo1?: string;
  echo2?: string;
  stun?: string;
}

const ECHO = ['40001', '40002'];

const L = iceLab(async (lab) => {
  const echo = lab.run(lab.ns.pub, iceFixture('ice-probe'), ['echo', ADDR.pub, ...ECHO]);
  await ready(echo, 'the UDP echo');
});

/** How NAT A maps one socket, seen from two ports of the public host and from coturn (which must answer). */
async function mapping(): Promise<Mapping> {
  const p = L.lab!.run(L.lab!.ns.a, iceFixture('ice-probe'), ['probe', ADDR.pub, ...ECHO, '3478']);
  return finished<Mapping>(p, 'the NAT probe', 12_000);
}

/** Runs the client behind NAT B; resolves with its outcome. */
function client(budgetMs: number, scenario = '', timeoutMs = 25_000): Promise<Outcome> {
  const p = L.lab!.run(L.lab!.ns.b, iceFixture('ice-client'), [
    L.gatewayUrl,
    JSON.stringify(L.servers),
    String(budgetMs),
    scenario,
  ]);
  return finished<Outcome>(p, 'the client', timeoutMs);
}

const port = (a: string | undefined) => a?.split(':')[1];
const pair = (o: Outcome) =>
  `${o.local?.type} ${o.local?.address}:${o.local?.port} ↔ ${o.remote?.type} ${o.remote?.address}:${o.remote?.port}`;

/** The call went over the link to the robot's own gateway, not through the public one. */
function overTheLink(o: Outcome): void {
  assert.match(o.route, /^ice:[0-9a-f-]+$/, `the session over the link dials the link itself (${o.route})`);
  assert.match(
    o.caller,
    /^tcp:\/\/127\.0\.0\.1:/,
    `the robot saw the call come from its own link gateway, not from ${o.caller}`,
  );
  assert.ok(o.echoSame, '1 MiB came back intact over the link');
}

describe('direct links through NATs (network namespaces, coturn)', () => {
  it(
    'NATs: cone keeps one public port for every destination, symmetric takes one per destination',
    { timeout: 30_000 },
    async (t) => {
      if (L.skipped(t)) return;
      const cone = await mapping();
      assert.ok(cone.stun !== undefined, `coturn answered STUN (${L.turn.log().slice(-2000)})`);
      assert.equal(cone.echo1?.split(':')[0], ADDR.natA, "seen from NAT A's public address");
      assert.equal(cone.echo1, cone.echo2, 'cone: one mapping for two destinations');
      assert.equal(cone.echo1, cone.stun, 'cone: STUN sees the same mapping');
      L.lab!.setNat('symmetric');
      try {
        const sym = await mapping();
        assert.equal(sym.echo1?.split(':')[0], ADDR.natA);
        assert.ok(
          new Set([port(sym.echo1), port(sym.echo2), port(sym.stun)]).size === 3,
          `symmetric: one mapping per destination (${JSON.stringify(sym)})`,
        );
        t.diagnostic(`cone: ${cone.echo1} for all; symmetric: ${sym.echo1}, ${sym.echo2}, STUN ${sym.stun}`);
      } finally {
        L.lab!.setNat('cone');
      }
    },
  );

  it('cone NATs: a direct link through both NATs (no relay), a session over it', { timeout: 30_000 }, async (t) => {
    if (L.skipped(t)) return;
    const o = await client(10_000);
    assert.equal(o.path, 'direct', `the link took ${o.path}: ${o.reason ?? pair(o)}`);
    assert.ok(
      ['srflx', 'prflx'].includes(o.local!.type) || ['srflx', 'prflx'].includes(o.remote!.type),
      `the pair goes through the NATs' public addresses: ${pair(o)}`,
    );
    assert.notEqual(o.local!.type, 'relay');
    assert.notEqual(o.remote!.type, 'relay');
    assert.ok(o.local!.address === ADDR.natB || o.local!.address === ADDR.b, `local end ${o.local!.address}`);
    assert.equal(o.remote!.address, ADDR.natA, "the robot is reached at NAT A's public address");
    overTheLink(o);
    t.diagnostic(`direct: ${pair(o)}, setup ${o.setupMs} ms, 1 MiB echo ${o.echoMs} ms`);
  });

  it(
    'a 30-second stream of frames over the direct link arrives complete and in order',
    { timeout: 60_000 },
    async (t) => {
      if (L.skipped(t)) return;
      const [seconds, fps, size] = [30, 30, 32 * 1024];
      const o = await client(10_000, `stream:${seconds}:${fps}:${size}`, 55_000);
      assert.equal(o.path, 'direct', o.reason);
      const s = o.stream!;
      assert.equal(s.received, s.count, `${s.received} of ${s.count} frames arrived`);
      assert.ok(s.inOrder, 'frames arrived in order');
      assert.ok(s.intact, 'every frame is intact');
      assert.equal(s.last, seconds * fps - 1);
      assert.ok(s.ms >= seconds * 1000 - 1000, `the stream lasted ${s.ms} ms`);
      t.diagnostic(
        `${s.received} frames of ${size} bytes in ${s.ms} ms (${((s.bytes * 8) / s.ms / 1000).toFixed(1)} Mbit/s), latency p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`,
      );
    },
  );

  it('symmetric NATs: hole punching fails, the TURN relay carries the link', { timeout: 30_000 }, async (t) => {
    if (L.skipped(t)) return;
    L.lab!.setNat('symmetric');
    const o = await client(12_000);
    assert.equal(o.path, 'relay', `the link took ${o.path}: ${o.reason ?? pair(o)}`);
    assert.ok(o.local!.type === 'relay' || o.remote!.type === 'relay', pair(o));
    assert.ok(
      o.local!.address === ADDR.pub || o.remote!.address === ADDR.pub,
      `the relay is coturn's address: ${pair(o)}`,
    );
    overTheLink(o);
    t.diagnostic(`relay: ${pair(o)}, setup ${o.setupMs} ms, 1 MiB echo ${o.echoMs} ms`);
  });

  it(
    'symmetric NATs and the TURN server down: the link stays on the gateway and says why',
    { timeout: 30_000 },
    async (t) => {
      if (L.skipped(t)) return;
      L.lab!.setNat('symmetric');
      await L.turn.stop();
      const o = await client(8000);
      assert.equal(o.path, 'gateway');
      assert.match(o.reason ?? '', /no candidate pair worked|ICE failed/);
      assert.match(o.reason ?? '', /turn:203\.0\.113\.1:3478 did not answer within/);
      assert.ok(!/turn-secret/.test(o.reason ?? ''), 'the reason does not show the TURN password');
      assert.equal(o.route, L.gatewayUrl, 'calls go through the public gateway');
      assert.match(
        o.caller,
        new RegExp(`^tcp://${ADDR.pub.replaceAll('.', '\\.')}:`),
        `the robot saw the call come through the public gateway (${o.caller})`,
      );
      assert.ok(o.echoSame);
      t.diagnostic(`gateway: ${o.reason}`);
    },
  );
});
