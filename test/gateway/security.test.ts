/**
 * The gateway's outside door: a client that does not authenticate can neither list, call nor subscribe;
 * one address cannot take every connection slot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { MessageType, encodeMessage } from '../../src/wire.js';
import { calculator } from '../object/fixtures.js';
import { RawPeer } from '../helpers/net.js';

let sd: Session;
let gw: Gateway;
const sessions: Session[] = [];

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { users: { alice: { token: 'pw', allow: ['*'] } } },
    maxConnectionsPerAddress: 3,
  });
});
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await gw.close();
  await sd.close();
});

const port = () => Number(new URL(gw.url).port);

describe('gateway: unauthenticated clients', () => {
  const attempts: [string, Buffer[]][] = [
    ['list services', encodeMessage({ id: 1, type: MessageType.Call, service: 1, object: 1, action: 101 }, '()', [])],
    [
      'find a service',
      encodeMessage({ id: 1, type: MessageType.Call, service: 1, object: 1, action: 100 }, '(s)', ['Calculator']),
    ],
    [
      'call a service',
      encodeMessage({ id: 1, type: MessageType.Call, service: 2, object: 1, action: 100 }, '(ii)', [1, 2]),
    ],
    [
      'subscribe to serviceAdded',
      encodeMessage({ id: 1, type: MessageType.Call, service: 1, object: 1, action: 0 }, '(IIL)', [1, 106, 1n]),
    ],
    [
      'post to a service',
      encodeMessage({ id: 1, type: MessageType.Post, service: 2, object: 1, action: 100 }, '(ii)', [1, 2]),
    ],
  ];
  for (const [what, bytes] of attempts) {
    it(`cannot ${what}: refused and disconnected, learning nothing`, async () => {
      const peer = await RawPeer.connect(port());
      peer.socket.write(Buffer.concat(bytes));
      await peer.waitClosed();
      const got = Buffer.concat(peer.messages.map((m) => m.payload));
      assert.ok(
        peer.messages.every((m) => m.type === MessageType.Error),
        'only an error, if anything',
      );
      assert.equal(got.indexOf('Calculator'), -1);
      assert.equal(got.indexOf(sd.endpoints[0].split(':')[2]), -1, 'not even the inside port');
    });
  }

  it('refuses connections past maxConnectionsPerAddress, and takes them again when one leaves', async () => {
    const three = await Promise.all(
      [0, 1, 2].map(() => Session.connect(gw.url, { ipc: false, auth: { user: 'alice', token: 'pw' } })),
    );
    sessions.push(...three);
    await assert.rejects(
      Session.connect(gw.url, { ipc: false, auth: { user: 'alice', token: 'pw' }, connectTimeoutMs: 2000 }),
    );
    assert.ok(gw.metrics.overLimit >= 1);
    await three[0].close();
    await new Promise((r) => setTimeout(r, 100));
    const again = await Session.connect(gw.url, { ipc: false, auth: { user: 'alice', token: 'pw' } });
    sessions.push(again);
    assert.equal(await ((await again.service('Calculator')) as AnyProxy).add(1, 2), 3);
  });
});
