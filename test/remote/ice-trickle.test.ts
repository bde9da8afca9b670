/**
 * Trickle ICE on one host (loopback candidates only): the offer leaves before gathering ends and the
 * candidates follow through the signaling service, so a link opens while a STUN server is still
 * silent; a host that only takes whole offers (an older one) still gets them; and what a caller of the
 * signaling service may trickle is bounded.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { LocalObject, defineObject, method, t } from '../../src/index.js';
import type { AnyProxy } from '../../src/index.js';
import { DirectLink, DirectLinkHost } from '../../src/remote/index.js';
import { loadStack } from '../../src/remote/ice/stack.js';
import { TRICKLE_LIMITS } from '../../src/remote/ice/trickle.js';
import { iceHost } from '../helpers/ice-host.js';

/** A STUN server on loopback that answers the probe's bare Binding requests only, never the ICE stack's. */
async function silentStun(): Promise<{ url: string; close(): void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (m, from) => {
    // The probe's request has no attribute (length 0); the stack's carry some (FINGERPRINT at least).
    if (m.length !== 20) return;
    // A Binding success response with no attribute: enough for the probe.
    const reply = Buffer.concat([Buffer.from([0x01, 0x01, 0, 0]), m.subarray(4, 20)]);
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { url: `stun:127.0.0.1:${socket.address().port}`, close: () => socket.close() };
}

describe('trickle ICE', () => {
  const fx = iceHost();
  const link = (service: string, extra: Parameters<typeof DirectLink.open>[1] = {}) => fx.open({ service, ...extra });

  it('trickles by default, and sends whole offers when told not to', { timeout: 20_000 }, async (t) => {
    for (const trickle of [true, false]) {
      const before = { ...fx.host.metrics };
      const l = await link('DirectLink', { trickle });
      try {
        assert.equal(l.path, 'direct', l.reason);
        assert.equal(await ((await l.session.service('Calculator')) as AnyProxy).add(1, 2), 3);
        assert.equal(fx.host.metrics.offers, before.offers + 1);
        assert.equal(fx.host.metrics.trickled, before.trickled + (trickle ? 1 : 0), `trickle: ${trickle}`);
        t.diagnostic(`trickle ${trickle}: setup ${l.setupMs} ms`);
      } finally {
        await l.close();
      }
    }
  });

  it('opens the link while the host’s STUN server is still silent', { timeout: 30_000 }, async () => {
    const stun = await silentStun();
    const slow = await DirectLinkHost.register(fx.sd, {
      name: 'DirectLinkSlowStun',
      accept: fx.gw,
      hostAddress: '127.0.0.1',
      iceServers: [stun.url],
    });
    try {
      // Whole offers: the host's answer waits for gathering (gatherTimeoutMs, 3 s), past this budget.
      const whole = await link('DirectLinkSlowStun', { trickle: false, timeoutMs: 2000 });
      assert.equal(whole.path, 'gateway', 'without trickle the answer came too late');
      assert.match(whole.reason ?? '', /\.offer got no answer within \d+ ms/);
      await whole.close();
      // Trickled: the answer leaves at once, the host's candidate follows.
      const l = await link('DirectLinkSlowStun', { timeoutMs: 2000 });
      try {
        assert.equal(l.path, 'direct', l.reason);
        assert.equal(await ((await l.session.service('Calculator')) as AnyProxy).add(2, 2), 4);
      } finally {
        await l.close();
      }
    } finally {
      stun.close();
      await slow.close();
      await fx.sd.unregisterService(fx.sd.serviceId('DirectLinkSlowStun')!);
    }
  });

  it('sends a whole offer to a host that does not know trickle', { timeout: 20_000 }, async () => {
    // An older host's service: offer and hangup only (it forwards to the real host).
    const real = (await fx.client.service('DirectLink')) as AnyProxy;
    const older = defineObject({
      methods: {
        offer: method([t.string, t.string], t.string),
        hangup: method([t.string], undefined),
      },
    });
    const id = await fx.sd.registerService(
      'DirectLinkOld',
      new LocalObject(older, {
        offer: async (l, sdp) => (await real.offer(l, sdp)) as string,
        hangup: async (l) => void (await real.hangup(l)),
      }),
    );
    try {
      const before = { ...fx.host.metrics };
      const l = await link('DirectLinkOld');
      try {
        assert.equal(l.path, 'direct', l.reason);
        assert.equal(await ((await l.session.service('Calculator')) as AnyProxy).add(3, 4), 7);
        assert.equal(fx.host.metrics.offers, before.offers + 1);
        assert.equal(fx.host.metrics.trickled, before.trickled, 'the offer was whole');
      } finally {
        await l.close();
      }
    } finally {
      await fx.sd.unregisterService(id);
    }
  });

  it('bounds what a caller may trickle, over a real socket', { timeout: 20_000 }, async () => {
    const signaling = (await fx.client.service('DirectLink')) as AnyProxy;
    await assert.rejects(signaling.trickle('nope', []), /no trickled link nope is being set up here/);
    const stack = await loadStack();
    const pc = stack.createPeer({ servers: [], hostAddress: '127.0.0.1' });
    pc.createChannel();
    try {
      await signaling.offerTrickle('hostile', await pc.describe('offer', 0));
      const line = (port: number) => `candidate:1 1 UDP 2122317823 127.0.0.1 ${port} typ host`;
      await assert.rejects(signaling.trickle('hostile', ['hello']), /not a candidate line/);
      await assert.rejects(
        signaling.trickle('hostile', [`${line(9)} ${'x'.repeat(TRICKLE_LIMITS.length)}`]),
        /not a candidate line of at most 256 characters/,
      );
      await assert.rejects(
        signaling.trickle('hostile', [`${line(9)}\r\na=ice-ufrag:evil`]),
        /not a candidate line/,
        'no SDP line smuggled in',
      );
      const many = Array.from({ length: TRICKLE_LIMITS.candidates + 8 }, (_, i) => line(10_000 + i));
      await assert.rejects(signaling.trickle('hostile', many), /too many candidates for one link \(at most 32\)/);
      // Pollers beyond the bound are answered at once rather than held.
      const polls = await Promise.all(Array.from({ length: 6 }, () => signaling.trickle('hostile', [])));
      assert.equal(polls.length, 6);
    } finally {
      await pc.close();
      await signaling.hangup('hostile');
    }
    assert.equal(fx.host.active.length, 0, 'the hostile link was dropped');
  });
});
