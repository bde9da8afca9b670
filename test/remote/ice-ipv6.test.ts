/**
 * IPv6 candidates: a link between two ends that have IPv6 (here ::1, the loopback: the tests never use
 * this machine's network addresses) runs over it, on either stack; link-local addresses, which a peer
 * cannot use without their interface, are never offered; `ipv6: false` offers none.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnyProxy } from '../../src/index.js';
import { DirectLink, DirectLinkHost } from '../../src/remote/index.js';
import { allowedCandidate, filterCandidates, parseCandidate } from '../../src/remote/ice/sdp.js';
import { iceHost } from '../helpers/ice-host.js';

describe('IPv6 candidates', () => {
  it('never offers link-local addresses; ipv4Only leaves every IPv6 one out', () => {
    const lines = [
      'candidate:1 1 UDP 2122317823 fe80::fc:ff:fe00:1 5000 typ host',
      'candidate:2 1 UDP 2122317823 FE80::1 5001 typ host',
      'candidate:3 1 UDP 2122317823 2001:db8::7 5002 typ host',
      'candidate:4 1 UDP 2122317823 fd00::2 5003 typ host',
      'candidate:5 1 UDP 1686052607 192.0.2.9 5004 typ srflx raddr 10.0.0.2 rport 5004',
    ];
    const kept = (filter: Parameters<typeof allowedCandidate>[1]) =>
      lines.filter((l) => allowedCandidate(parseCandidate(l)!, filter)).map((l) => l.split(' ')[4]);
    assert.deepEqual(kept({}), ['2001:db8::7', 'fd00::2', '192.0.2.9']);
    assert.deepEqual(kept({ ipv4Only: true }), ['192.0.2.9']);
    const sdp = `v=0\r\n${lines.map((l) => `a=${l}\r\n`).join('')}a=end-of-candidates\r\n`;
    assert.equal(
      filterCandidates(sdp, {}),
      `v=0\r\na=${lines[2]}\r\na=${lines[3]}\r\na=${lines[4]}\r\na=end-of-candidates\r\n`,
    );
  });

  describe('a link over ::1', () => {
    const fx = iceHost({ host: false });

    for (const stack of ['libdatachannel', 'werift'] as const)
      it(`runs over IPv6 when both ends have it (${stack} host)`, { timeout: 20_000 }, async () => {
        const name = `DirectLink6${stack}`;
        const host = await DirectLinkHost.register(fx.sd, { name, accept: fx.gw, hostAddress: '::1', stack });
        try {
          const link = await DirectLink.open(fx.client, {
            service: name,
            hostAddress: '::1',
            session: { auth: fx.auth },
            timeoutMs: 8000,
          });
          try {
            assert.equal(link.path, 'direct', link.reason);
            assert.equal(link.local?.address, '::1');
            assert.equal(link.remote?.address, '::1');
            assert.equal(host.active[0]?.remote?.address, '::1', 'the host sees the IPv6 pair too');
            assert.equal(await ((await link.session.service('Calculator')) as AnyProxy).add(6, 6), 12);
          } finally {
            await link.close();
          }
        } finally {
          await host.close();
          await fx.sd.unregisterService(fx.sd.serviceId(name)!);
        }
      });
  });
});
