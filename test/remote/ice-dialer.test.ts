/**
 * The `ice:<link-id>` transport on one host: its URLs, `link.session` dialling the link itself (no
 * socket in between), reconnection over a fresh DataChannel while the link lives, the error once it is
 * closed (and why), and what a service registered through a link advertises (no `ice:` or unix path).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiConnectError, QiUrlError, Session, type AnyProxy } from '../../src/index.js';
import { candidates } from '../../src/session/index.js';
import { connect, formatEndpoint, listen, parseEndpoint } from '../../src/wire.js';
import { registerLink } from '../../src/remote/ice/dialer.js';
import { calculator } from '../object/fixtures.js';
import { until } from '../helpers/until.js';
import { iceHost } from '../helpers/ice-host.js';

describe('ice: URLs', () => {
  it('names an open link by id, ranks with remote routes, and is never listened on', async () => {
    const ep = parseEndpoint('ice:0f1e2d3c-aaaa-4bbb-8ccc-123456789abc');
    assert.deepEqual(ep, { scheme: 'ice', link: '0f1e2d3c-aaaa-4bbb-8ccc-123456789abc' });
    assert.equal(formatEndpoint(ep), 'ice:0f1e2d3c-aaaa-4bbb-8ccc-123456789abc');
    const info = { name: 'S', serviceId: 2, machineId: 'm', processId: 1, sessionId: '', objectUid: '' };
    assert.deepEqual(candidates({ ...info, endpoints: ['ice:abc', 'unix:/tmp/s', 'tcp://127.0.0.1:1'] }, true), [
      ['unix:/tmp/s'],
      ['tcp://127.0.0.1:1'],
      ['ice:abc'],
    ]);
    await assert.rejects(
      listen('ice:abc', () => {}),
      (e: Error) => e instanceof QiUrlError && /accepted by a DirectLinkHost/.test(e.message),
    );
  });

  it('refuses the ice://address:port labels of a link’s streams: they cannot be dialled', () => {
    assert.throws(
      () => parseEndpoint('ice://192.0.2.2:5000'),
      (e: Error) => e instanceof QiUrlError && /cannot be dialled.*ice:<link-id>/.test(e.message),
    );
    assert.throws(() => parseEndpoint('ice:'), QiUrlError);
    assert.throws(() => parseEndpoint('ice:a/b'), QiUrlError);
  });

  it('says when no link of this process has that id', async () => {
    await assert.rejects(
      connect('ice:no-such-link'),
      (e: Error) =>
        e instanceof QiConnectError &&
        /Cannot connect to ice:no-such-link: no direct link with that id/.test(e.message),
    );
  });
});

describe('sessions over ice: links on one host', () => {
  const fx = iceHost({ allow: ['Calculator', 'Echo', 'register:Echo'] });

  it('link.session dials the link, and a dead channel is replaced by a fresh one', { timeout: 20_000 }, async () => {
    const link = await fx.open();
    try {
      assert.equal(link.path, 'direct', link.reason);
      const calc = (await link.session.service('Calculator')) as AnyProxy;
      assert.equal(await calc.add(1, 2), 3);
      assert.equal(Session.route(calc), `ice:${link.id}`, 'the session dials ice:<link-id>');
      const first = link.session.directoryConnection!.stream;
      assert.equal(first.remote, `ice:${link.id}`);
      const streams = fx.host.metrics.streams;
      first.destroy(); // the DataChannel dies; the link lives
      assert.equal(await calc.add(2, 3, { timeoutMs: 10_000 }), 5, 'the call waits for the new channel');
      assert.notEqual(link.session.directoryConnection?.stream, first);
      await until(() => fx.host.metrics.streams > streams, 'the host to accept a fresh DataChannel');
      assert.equal(link.isClosed, false);
    } finally {
      await link.close();
    }
  });

  it('a closed link fails dials with a QiConnectError saying it is closed', { timeout: 20_000 }, async () => {
    const link = await fx.open();
    assert.equal(link.path, 'direct', link.reason);
    await link.close();
    await assert.rejects(
      connect(`ice:${link.id}`),
      (e: Error) =>
        e instanceof QiConnectError &&
        e.message.startsWith(
          `Cannot connect to ice:${link.id}: the direct link is closed (closed by DirectLink.close())`,
        ),
    );
  });

  it('a link closed for a reason gives that reason to later dials', async () => {
    // A peer that goes away is noticed when ICE consent fails (about 30 s on werift): the registry is
    // driven directly here, with the reason a failed link gives.
    const unregister = registerLink('gone', () => Promise.reject(new Error('unused')));
    unregister(new Error('the direct link failed'));
    await assert.rejects(
      connect('ice:gone'),
      (e: Error) =>
        e instanceof QiConnectError &&
        e.message ===
          'Cannot connect to ice:gone: the direct link is closed (the direct link failed); open a new one with DirectLink.open.',
    );
  });

  it(
    'a service registered through a link advertises neither ice: nor unix: endpoints',
    { timeout: 20_000 },
    async () => {
      const link = await fx.open();
      try {
        assert.equal(link.path, 'direct', link.reason);
        await link.session.registerService('Echo', calculator());
        // ice://address:port is the label of the host's end of the link, which nothing can dial.
        const leaks = (endpoints: string[]) => endpoints.filter((e) => /^(ice:(?!\/\/)|unix:)/.test(e));
        const inside = (await fx.sd.services()).find((s) => s.name === 'Echo');
        assert.ok(inside !== undefined, 'the robot’s SD lists the service');
        assert.deepEqual(leaks(inside.endpoints), [], `inside: ${inside.endpoints.join(', ')}`);
        const outside = (await fx.client.services()).find((s) => s.name === 'Echo');
        assert.deepEqual(leaks(outside?.endpoints ?? []), [], 'the signaling session sees none either');
        const seen = (await link.session.services()).find((s) => s.name === 'Echo');
        assert.deepEqual(leaks(seen?.endpoints ?? []), [], `over the link: ${seen?.endpoints.join(', ')}`);
        // The robot calls it: back over the link.
        assert.equal(await ((await fx.sd.service('Echo')) as AnyProxy).add(20, 22), 42);
      } finally {
        await link.close();
      }
    },
  );
});
