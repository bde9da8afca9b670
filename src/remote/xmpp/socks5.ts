/**
 * SOCKS5 Bytestreams through the XMPP server's proxy (XEP-0065, mediated mode): both ends connect to the
 * proxy the server offers, the proxy joins the two TCP connections, and qi bytes flow raw — no XML, no
 * base64 — which is what bulk data needs. Used when the server offers a proxy; IBB otherwise.
 */
import { createHash, randomUUID } from 'node:crypto';
import net from 'node:net';
import { xml } from './lib.js';
import type { Client, Element } from './xmpp-types.js';

export const BYTESTREAMS_NS = 'http://jabber.org/protocol/bytestreams';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

/** A SOCKS5 proxy the server offers. */
export interface StreamHost {
  jid: string;
  host: string;
  port: number;
}

/** The SOCKS5 destination both ends ask for: SHA-1 of sid, initiator and target full JIDs (XEP-0065 §5.3.2). */
export function destination(sid: string, initiator: string, target: string): string {
  return createHash('sha1')
    .update(sid + initiator + target)
    .digest('hex');
}

/** Connects to a SOCKS5 proxy and asks for `dst` (no authentication, domain-name address, port 0). */
export function socks5Connect(host: StreamHost, dst: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(host.port, host.host);
    s.setNoDelay(true);
    const timer = setTimeout(
      () => fail(new Error(`the bytestream proxy ${host.jid} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.on('error', fail);
    let got = Buffer.alloc(0);
    let stage = 0;
    s.on('connect', () => s.write(Buffer.from([5, 1, 0])));
    const onData = (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (stage === 0) {
        if (got.length < 2) return;
        if (got[0] !== 5 || got[1] !== 0)
          return fail(new Error(`the bytestream proxy ${host.jid} refused the SOCKS5 greeting`));
        got = got.subarray(2);
        stage = 1;
        const name = Buffer.from(dst, 'latin1');
        s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0, 0])]));
      }
      if (stage === 1) {
        if (got.length < 5) return;
        const len = got[3] === 3 ? 7 + got[4] : got[3] === 1 ? 10 : 22;
        if (got.length < len) return;
        if (got[1] !== 0)
          return fail(new Error(`the bytestream proxy ${host.jid} refused the connection (SOCKS5 reply ${got[1]})`));
        clearTimeout(timer);
        s.removeListener('data', onData);
        s.removeListener('error', fail);
        s.pause();
        if (got.length > len) s.unshift(got.subarray(len));
        resolve(s);
      }
    };
    s.on('data', onData);
  });
}

/** The first bytestream proxy of the server, if it offers one (disco#items on the domain, then each item's address). */
export async function findProxy(xmpp: Client, domain: string, timeoutMs: number): Promise<StreamHost | undefined> {
  let items: Element[];
  try {
    const r = await xmpp.iqCaller.request(
      xml('iq', { type: 'get', to: domain }, xml('query', { xmlns: DISCO_ITEMS })),
      timeoutMs,
    );
    items = r.getChild('query', DISCO_ITEMS)?.getChildren('item') ?? [];
  } catch {
    return undefined;
  }
  for (const item of items) {
    const jid = item.attrs.jid;
    if (!jid) continue;
    try {
      const r = await xmpp.iqCaller.request(
        xml('iq', { type: 'get', to: jid }, xml('query', { xmlns: BYTESTREAMS_NS })),
        timeoutMs,
      );
      const h = r.getChild('query', BYTESTREAMS_NS)?.getChild('streamhost');
      if (h?.attrs.host && h.attrs.port)
        return { jid: h.attrs.jid ?? jid, host: h.attrs.host, port: Number(h.attrs.port) };
    } catch {
      // not a bytestream proxy
    }
  }
  return undefined;
}

/** Initiator: offers `proxy` to `target`, connects through it and activates the stream. */
export async function openSocks5(
  xmpp: Client,
  self: string,
  target: string,
  proxy: StreamHost,
  timeoutMs: number,
): Promise<net.Socket> {
  const sid = randomUUID();
  const answer = await xmpp.iqCaller.request(
    xml(
      'iq',
      { type: 'set', to: target },
      xml(
        'query',
        { xmlns: BYTESTREAMS_NS, sid, mode: 'tcp' },
        xml('streamhost', { jid: proxy.jid, host: proxy.host, port: proxy.port }),
      ),
    ),
    timeoutMs,
  );
  const used = answer.getChild('query', BYTESTREAMS_NS)?.getChild('streamhost-used')?.attrs.jid;
  if (used !== proxy.jid) throw new Error(`${target} did not use the bytestream proxy`);
  const socket = await socks5Connect(proxy, destination(sid, self, target), timeoutMs);
  // Until the caller takes it, an error of the socket (the proxy resetting it) is ours: it is destroyed.
  const early = () => socket.destroy();
  socket.on('error', early);
  try {
    await xmpp.iqCaller.request(
      xml(
        'iq',
        { type: 'set', to: proxy.jid },
        xml('query', { xmlns: BYTESTREAMS_NS, sid }, xml('activate', {}, target)),
      ),
      timeoutMs,
    );
  } catch (e) {
    socket.destroy();
    throw e;
  } finally {
    socket.off('error', early);
  }
  return socket;
}

/**
 * Target: answers bytestream offers. `allow(peer)` decides; an allowed offer is joined through its proxy
 * and the socket handed to `onSocket` (data flows once the initiator activates it).
 */
export function acceptSocks5(
  xmpp: Client,
  allow: (peer: string) => boolean,
  onSocket: (peer: string, socket: net.Socket) => void,
  timeoutMs = 10_000,
): void {
  xmpp.iqCallee.set(BYTESTREAMS_NS, 'query', async ({ stanza, from }) => {
    const q = stanza.getChild('query', BYTESTREAMS_NS)!;
    const peer = from.toString();
    const sid = q.attrs.sid;
    if (!sid || !allow(peer)) return stanzaError('forbidden', 'auth');
    const failed: string[] = [];
    for (const h of q.getChildren('streamhost')) {
      if (!h.attrs.jid || !h.attrs.host || !h.attrs.port) continue;
      const host = { jid: h.attrs.jid, host: h.attrs.host, port: Number(h.attrs.port) };
      try {
        const socket = await socks5Connect(host, destination(sid, peer, xmpp.jid!.toString()), timeoutMs);
        onSocket(peer, socket);
        return xml('query', { xmlns: BYTESTREAMS_NS, sid }, xml('streamhost-used', { jid: host.jid }));
      } catch (e) {
        // try the next streamhost; the peer learns why none worked (the addresses are the ones it sent)
        failed.push(`${host.jid} at ${host.host}:${host.port} (${(e as Error).message})`);
      }
    }
    return stanzaError('item-not-found', 'cancel', `${xmpp.jid} could not reach ${failed.join('; ') || 'any proxy'}`);
  });
}

function stanzaError(condition: string, type = 'cancel', text?: string): Element {
  const ns = 'urn:ietf:params:xml:ns:xmpp-stanzas';
  return xml('error', { type }, xml(condition, { xmlns: ns }), ...(text ? [xml('text', { xmlns: ns }, text)] : []));
}
