/**
 * Malformed and hostile input on a live ServiceDirectory socket: every case gets a typed error or a
 * clean disconnect of that peer only, and the server keeps serving everyone else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Dynamic,
  QiAuthError,
  QiTlsError,
  Session,
  listenStandalone,
  userTokenAuthenticator,
} from '../../src/index.js';
import { MessageType, encodeMessage } from '../../src/wire.js';
import { testCerts } from '../helpers/certs.js';
import { RawPeer } from '../helpers/net.js';
import { specVectors } from '../helpers/shared.js';
import { Calculator, calculator } from '../object/fixtures.js';

let sd: Session;
let port: number;
before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0');
  await sd.registerService('Calculator', calculator());
  port = Number(/:(\d+)$/.exec(sd.endpoints.find((e) => e.startsWith('tcp:'))!)![1]);
});
after(() => sd.close());

/** A raw client past the handshake (it sends libqi's own authenticate call, spec V1). */
async function rawClient(): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  peer.socket.write(specVectors()[0].bytes);
  await peer.waitFor(1);
  peer.messages.length = 0;
  return peer;
}

const call = (id: number, service: number, action: number, sig: string, value: unknown) =>
  Buffer.concat(encodeMessage({ id, type: MessageType.Call, service, object: 1, action }, sig, value));

async function answer(peer: RawPeer, bytes: Buffer): Promise<{ type: number; text?: string; value?: unknown }> {
  const n = peer.messages.length;
  peer.socket.write(bytes);
  const m = (await peer.waitFor(n + 1))[n];
  return m.type === MessageType.Error
    ? { type: m.type, text: (m.decode('m') as Dynamic).value as string }
    : { type: m.type, value: m.payload };
}

async function stillServing(): Promise<void> {
  const client = await Session.connect(`tcp://127.0.0.1:${port}`);
  const calc = await client.service<typeof Calculator>('Calculator');
  assert.equal(await calc.add(2, 2), 4);
  await client.close();
}

describe('hostile input on a live socket', () => {
  it('answers an unknown service with an error and keeps the connection', async () => {
    const peer = await rawClient();
    const r = await answer(peer, call(10, 99, 100, '(s)', ['x']));
    assert.equal(r.type, MessageType.Error);
    assert.match(r.text!, /No object 99\.1 on this connection/);
    const ok = await answer(peer, call(11, 1, 100, '(s)', ['Calculator']));
    assert.equal(ok.type, MessageType.Reply);
    peer.socket.destroy();
  });

  it("answers an unknown method with libqi's wording", async () => {
    const peer = await rawClient();
    const r = await answer(peer, call(12, 2, 999, '()', []));
    assert.match(r.text!, /^No such method \{2\.1\.999, id:12\} on Calculator\.$/);
    peer.socket.destroy();
  });

  it('rejects arguments of the wrong signature with a clear error', async () => {
    const peer = await rawClient();
    const r = await answer(peer, call(13, 2, 100, '(s)', ['x'])); // 5 bytes where (ii) needs 8
    assert.match(r.text!, /^Calculator\.add \(ii\): bad arguments: .*/);
    const truncated = await answer(peer, call(14, 2, 100, '(i)', [1]));
    assert.match(
      truncated.text!,
      /bad arguments: Cannot decode value\[1\] as \(ii\) at byte 4: an? .*needs 4 bytes but only 0 remain/,
    );
    peer.socket.destroy();
  });

  it('drops a peer that announces an oversized message, and only that peer', async () => {
    const peer = await rawClient();
    const header = call(15, 2, 100, '()', []).subarray(0, 28);
    header.writeUInt32LE(0xfffffff0, 8);
    peer.socket.write(header);
    await peer.waitClosed();
    await stillServing();
  });

  it('drops a peer that sends garbage, and only that peer', async () => {
    const peer = await RawPeer.connect(port);
    peer.socket.write(Buffer.from('\x16\x03\x01 this is a TLS hello, or an HTTP request, or noise'.repeat(3)));
    await peer.waitClosed();
    await stillServing();
  });
});

describe('TLS and authentication through sessions', () => {
  const certs = testCerts();
  let secure: Session;
  let url: string;
  before(async () => {
    secure = await listenStandalone('tcps://127.0.0.1:0', {
      listenTls: certs.server,
      authenticator: userTokenAuthenticator({ nao: 'robot-password' }),
      ipc: false,
    });
    await secure.registerService('Calculator', calculator());
    url = secure.endpoints[0];
  });
  after(() => secure.close());

  it('connects with the CA and the right password, and calls a service', async () => {
    const client = await Session.connect(url, {
      tls: { ca: certs.ca },
      auth: { user: 'nao', token: 'robot-password' },
    });
    const calc = await client.service<typeof Calculator>('Calculator');
    assert.equal(await calc.add(3, 4), 7);
    await client.close();
  });

  it('refuses a wrong password with a clear error', async () => {
    await assert.rejects(
      Session.connect(url, { tls: { ca: certs.ca }, auth: { user: 'nao', token: 'guess' } }),
      (e: unknown) => e instanceof QiAuthError && /Authentication failed: invalid user or token/.test(e.message),
    );
  });

  it('refuses an unverified certificate and says how to pin it', async () => {
    await assert.rejects(
      Session.connect(url, { auth: { user: 'nao', token: 'robot-password' } }),
      (e: unknown) =>
        e instanceof QiTlsError &&
        /pin its certificate with \{ tls: \{ fingerprint: '[0-9A-F:]+' \} \}/.test(e.message),
    );
  });
});
