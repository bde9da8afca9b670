/**
 * The connection handshake against every server and client generation the spec lists: our own peers,
 * and scripted peers replaying the bytes of libqi 4.x, NAOqi 2.5 and NAOqi 2.1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic, QiAuthError, userTokenAuthenticator, type Authenticator } from '../../src/index.js';
import {
  Capability,
  Message,
  MessageType,
  acceptChannel,
  connect,
  encodeMessage,
  openChannel,
  type AcceptOptions,
  type Channel,
} from '../../src/wire.js';
import { loopbackListener, rawServer, RawPeer } from '../helpers/net.js';
import { sharedFile, specVectors } from '../helpers/shared.js';

const vector = (prefix: string) => specVectors().find((v) => v.name.startsWith(prefix + ' '))!.bytes;

async function ourServer(options: AcceptOptions = {}) {
  const accepted: Channel[] = [];
  const l = await loopbackListener((s) => accepted.push(acceptChannel(s, options)));
  return { url: l.url, port: (l.endpoint as { port: number }).port, accepted };
}

describe('client handshake', () => {
  it('connects to our server and shares all of libqi 4.x capabilities', async () => {
    const { url } = await ourServer();
    const ch = await openChannel(await connect(url));
    for (const c of Object.values(Capability)) assert.equal(ch.shared(c), c !== Capability.MetaObjectCache, c);
    assert.deepEqual(ch.codecOptions().objectUid, true);
    ch.close();
  });

  it('accepts a libqi 4.x reply (spec V2, state as I)', async () => {
    const { url } = await rawServer(async (peer) => {
      const [call] = await peer.waitFor(1);
      const reply = Buffer.from(vector('V2'));
      reply.writeUInt32LE(call.id, 4);
      peer.socket.write(reply);
    });
    const ch = await openChannel(await connect(url));
    assert.ok(ch.shared(Capability.ObjectPtrUID) && ch.shared(Capability.RelativeEndpointURI));
    ch.close();
  });

  it('accepts a NAOqi 2.5 reply (captured bytes, state as i) and then uses object references without uid', async () => {
    const { url } = await rawServer(async (peer) => {
      const [call] = await peer.waitFor(1);
      const reply = Buffer.from(sharedFile('vectors/naoqi-2.5-header-reply-authenticate.bin'));
      reply.writeUInt32LE(call.id, 4);
      peer.socket.write(reply);
    });
    const ch = await openChannel(await connect(url));
    assert.equal(ch.shared(Capability.ObjectPtrUID), false);
    assert.equal(ch.shared(Capability.MetaObjectCache), false, 'we never enable the cache');
    assert.equal(ch.shared(Capability.RemoteCancelableCalls), true);
    assert.equal(ch.codecOptions().objectUid, false);
    ch.close();
  });

  it('falls back for a NAOqi 2.1 server: capability first, Error to authenticate, then our capabilities', async () => {
    let peer!: RawPeer;
    const { url } = await rawServer(async (p) => {
      peer = p;
      // 2.1 servers send their capabilities on accept.
      p.socket.write(
        Buffer.concat(
          encodeMessage(
            { id: 1, type: MessageType.Capability, service: 0, object: 0, action: 0 },
            '{sm}',
            new Map([
              ['ClientServerSocket', new Dynamic('b', true)],
              ['MessageFlags', new Dynamic('b', true)],
              ['MetaObjectCache', new Dynamic('b', true)],
            ]),
          ),
        ),
      );
      const [call] = await p.waitFor(1);
      const err = Buffer.from(vector('V21'));
      err.writeUInt32LE(call.id, 4);
      p.socket.write(err);
    });
    const ch = await openChannel(await connect(url));
    const [, caps] = await peer.waitFor(2);
    assert.equal(caps.type, MessageType.Capability);
    assert.equal((caps.decode('{sm}') as Map<string, Dynamic>).get('RemoteCancelableCalls')?.value, true);
    assert.equal(ch.shared(Capability.MessageFlags), true);
    assert.equal(ch.shared(Capability.RemoteCancelableCalls), false, 'a 2.1 server cannot cancel');
    ch.close();
  });

  it('times out with advice when the server never answers', async () => {
    const { url } = await rawServer(() => {});
    await assert.rejects(
      openChannel(await connect(url), { timeoutMs: 200 }),
      /did not answer the connection handshake within 200 ms.*scheme \(tcp\/tcps\)/,
    );
  });
});

describe('server handshake', () => {
  it("answers libqi 4.x's authenticate call (spec V1) with exactly libqi's reply (spec V2)", async () => {
    const { port } = await ourServer();
    const peer = await RawPeer.connect(port);
    peer.socket.write(vector('V1'));
    const [reply] = await peer.waitFor(1);
    assert.equal(reply.toBuffer().toString('hex'), vector('V2').toString('hex'));
    peer.socket.destroy();
  });

  it('answers a NAOqi 2.5 client (captured call) with state 3 and its capabilities', async () => {
    const { port, accepted } = await ourServer();
    const peer = await RawPeer.connect(port);
    peer.socket.write(sharedFile('vectors/naoqi-2.5-header-call-authenticate.bin'));
    const [reply] = await peer.waitFor(1);
    const map = reply.decode('{sm}') as Map<string, Dynamic>;
    assert.equal(map.get('__qi_auth_state')?.value, 3);
    assert.equal(accepted[0].shared(Capability.ObjectPtrUID), false);
    peer.socket.destroy();
  });

  it('lets in a NAOqi 2.1 client that starts with its capabilities', async () => {
    const ready: Channel[] = [];
    const { port } = await ourServer({ onReady: (c) => ready.push(c) });
    const peer = await RawPeer.connect(port);
    peer.socket.write(
      Buffer.concat(
        encodeMessage(
          { id: 1, type: MessageType.Capability, service: 0, object: 0, action: 0 },
          '{sm}',
          new Map([['MetaObjectCache', new Dynamic('b', true)]]),
        ),
      ),
    );
    const [caps] = await peer.waitFor(1);
    assert.equal(caps.type, MessageType.Capability);
    assert.equal(ready.length, 1);
    peer.socket.destroy();
  });

  it('refuses anything before authentication when it is enforced, as libqi does', async () => {
    const { port } = await ourServer({ authenticator: userTokenAuthenticator({ nao: 'secret' }) });
    const peer = await RawPeer.connect(port);
    peer.socket.write(vector('V5'));
    const [err] = await peer.waitFor(1);
    assert.equal(err.type, MessageType.Error);
    assert.equal(
      (err.decode('m') as Dynamic).value,
      'Expected authentication (service #0, type #1, action #8), received service #1, type #1, action #100',
    );
    await peer.waitClosed();
  });

  it('drops a client that never completes the handshake', async () => {
    const { port } = await ourServer({ authenticator: userTokenAuthenticator({}), handshakeTimeoutMs: 100 });
    const peer = await RawPeer.connect(port);
    await peer.waitClosed(2000);
  });
});

describe('authentication', () => {
  const users = userTokenAuthenticator({ nao: 'secret' });

  it('lets in a client with the right user and token (NAOqi 2.9 style)', async () => {
    const { url } = await ourServer({ authenticator: users });
    const ch = await openChannel(await connect(url), { auth: { user: 'nao', token: 'secret' } });
    assert.ok(ch.shared(Capability.ClientServerSocket));
    ch.close();
  });

  it('refuses a wrong token with a clear error, and the server closes the connection', async () => {
    const { url } = await ourServer({ authenticator: users });
    await assert.rejects(openChannel(await connect(url), { auth: { user: 'nao', token: 'nope' } }), (e: unknown) => {
      assert.ok(e instanceof QiAuthError);
      assert.equal(e.code, 'ERR_QI_AUTH');
      assert.match(
        e.message,
        /refused the connection: Authentication failed: invalid user or token\. Check the user and token/,
      );
      return true;
    });
  });

  it('tells a client without credentials how to give them', async () => {
    const { url } = await ourServer({ authenticator: users });
    await assert.rejects(
      openChannel(await connect(url)),
      /requires authentication \(Authentication failed: user and token are required\)\. Connect with credentials/,
    );
  });

  it('runs extra rounds: a new token handed out with state 2 is used', async () => {
    const seen: Record<string, unknown>[] = [];
    const rotating: Authenticator = {
      authenticate(creds) {
        seen.push(creds);
        if (creds.token === 'first') return { outcome: 'continue', data: { newToken: 'second' } };
        return creds.token === 'second' ? { outcome: 'done' } : { outcome: 'refused', reason: 'no' };
      },
    };
    const { url } = await ourServer({ authenticator: rotating });
    const ch = await openChannel(await connect(url), { auth: { user: 'nao', token: 'first' } });
    assert.deepEqual(
      seen.map((c) => c.token),
      ['first', 'second'],
    );
    ch.close();
  });

  it('passes the credentials as libqi sends them (auth_user, auth_token strings; spec V4 keys)', async () => {
    let peer!: RawPeer;
    const { url } = await rawServer((p) => {
      peer = p;
    });
    const opening = openChannel(await connect(url), { auth: { user: 'nao', token: 'nao' }, timeoutMs: 300 }).catch(
      () => undefined,
    );
    const [call] = await peer.waitFor(1);
    const map = call.decode('{sm}') as Map<string, Dynamic>;
    assert.deepEqual([map.get('auth_user'), map.get('auth_token')], [new Dynamic('s', 'nao'), new Dynamic('s', 'nao')]);
    await opening;
  });
});

export { Message };
