/**
 * In-Band Bytestreams (XEP-0047): a reliable, ordered byte stream between two XMPP entities, carried in
 * `<iq>` stanzas through the server, base64-encoded. Each block is acknowledged; at most `window` blocks
 * are unacknowledged at a time, and a receiver acknowledges only once its reader has room, so a large
 * transfer can neither flood the server nor a slow reader. A server's rate limit (Debian's stock
 * ejabberd: 3,000 B/s per client) makes each block wait its turn behind the blocks sent before it, of
 * every stream of the connection: a stream fails when none of its blocks was acknowledged for
 * `ackTimeoutMs` times the number of streams sending meanwhile, not when one block took that long.
 */
import { randomUUID } from 'node:crypto';
import { Duplex } from 'node:stream';
import { envNumber } from '../../config/env.js';
import { xml } from './lib.js';
import type { Client, Element } from './xmpp-types.js';

export const IBB_NS = 'http://jabber.org/protocol/ibb';

/** Options of a stream. */
export interface IbbOptions {
  /** Bytes per block before base64 (default 16 KiB: stanzas of ~22 KiB, well under server limits; measured best with Prosody). */
  blockSize?: number;
  /** Blocks sent and not yet acknowledged (default 8). */
  window?: number;
  /**
   * A stream fails once none of its blocks was acknowledged for this long while some wait (times the
   * number of streams of the connection sending meanwhile: they share its rate), in ms (default
   * `QI_XMPP_ACK_TIMEOUT_MS` or 30,000): a peer gone, or a server holding our bytes back (its rate
   * limit) for that long.
   */
  ackTimeoutMs?: number;
}

/** What the streams of one connection share: the time allowed, and how many streams have blocks in flight. */
interface AckClock {
  readonly ackTimeoutMs: number;
  sending: number;
}

/** Why a stream whose blocks are not acknowledged fails: a rate limit is the likely cause. */
const notAcknowledged = (ms: number, taken: number) =>
  `nothing acknowledged for ${ms} ms (${taken} bytes were). The XMPP server may be holding our bytes back: its rate limit for clients (Prosody's mod_limits \`limits.c2s.rate\`, ejabberd's \`c2s_shaper\` shaper), or for other servers when the peer's account is on another domain (\`limits.s2sin.rate\`, ejabberd's \`s2s_shaper\` where its s2s listener names it), is below what qi sends; raise it for this account (docs/remote.md), or give the stream more time (ibb.ackTimeoutMs, QI_XMPP_ACK_TIMEOUT_MS). Or the peer is gone`;

/** One IBB session as a Node Duplex. */
export class IbbStream extends Duplex {
  private seqOut = 0;
  private seqIn = 0;
  private inflight = 0;
  private waiting: (() => void)[] = [];
  private readWaiter: (() => void) | undefined;
  private remoteClosed = false;
  /** Bytes of ours the peer acknowledged: the heartbeat sees a large message crossing a throttled server. */
  bytesTaken = 0;

  constructor(
    private readonly xmpp: Client,
    /** The peer's full JID. */
    readonly peer: string,
    readonly sid: string,
    readonly blockSize: number,
    private readonly window: number,
    private readonly onGone: () => void,
    private readonly clock: AckClock = { ackTimeoutMs: 30_000, sending: 0 },
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 64 * 1024 });
  }

  override _read(): void {
    const w = this.readWaiter;
    this.readWaiter = undefined;
    w?.();
  }

  /** A block from the peer; resolves (acknowledging it) once the reader has room; false for a block out of order or a closed stream. */
  async received(seq: number, data: Buffer): Promise<boolean> {
    if (this.destroyed) return false;
    if (seq !== this.seqIn) {
      this.destroy(new Error(`IBB stream ${this.sid}: block ${seq} arrived where ${this.seqIn} was expected`));
      return false;
    }
    this.seqIn = (this.seqIn + 1) & 0xffff;
    if (!this.push(data)) await new Promise<void>((r) => (this.readWaiter = r));
    return !this.destroyed;
  }

  /** The peer closed the stream. */
  closedByPeer(): void {
    this.remoteClosed = true;
    this.push(null);
    this.destroy();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.sendBlocks(chunk).then(
      () => cb(),
      (e: Error) => cb(new Error(`IBB stream ${this.sid} to ${this.peer} failed: ${e.message || e.name}`)),
    );
  }

  /**
   * Sends `chunk` block by block, at most `window` of them unacknowledged. Every block's acknowledgement
   * is owned here from the moment it is asked for: the first failure (a stanza error such as
   * service-unavailable when the peer went away, nothing acknowledged for `ackTimeoutMs`, the stream
   * closed) stops the sending and is what this rejects with at once, without waiting for the blocks still
   * in flight (their answers, or their timeouts, are then ignored).
   */
  private async sendBlocks(chunk: Buffer): Promise<void> {
    const { ackTimeoutMs } = this.clock;
    // Blocks queue behind each other at a throttling server: each one's own bound is the time its
    // predecessors may take; the watchdog judges progress.
    const eachMs = ackTimeoutMs * (this.window + 1);
    const acks: Promise<void>[] = [];
    let failure: Error | undefined;
    let failNow: (e: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => (failNow = reject));
    failed.catch(() => {}); // awaited below; a failure after the last block is still reported there
    const fail = (e: unknown) => {
      if (failure !== undefined) return;
      failure = e instanceof Error ? e : new Error(String(e));
      if (failure.name === 'TimeoutError') failure = new Error(notAcknowledged(eachMs, this.bytesTaken));
      failNow(failure);
      for (const w of this.waiting.splice(0)) w();
    };
    let lastAck = 0;
    let watchdog: NodeJS.Timeout | undefined;
    let sending = false;
    const idle = () => {
      clearTimeout(watchdog);
      if (sending) this.clock.sending--;
      sending = false;
    };
    const watch = (ms: number) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        if (failure !== undefined || !sending) return;
        const quiet = Date.now() - lastAck;
        const allowed = ackTimeoutMs * Math.max(1, this.clock.sending);
        if (quiet >= allowed) fail(new Error(notAcknowledged(quiet, this.bytesTaken)));
        else watch(allowed - quiet);
      }, ms);
      watchdog.unref();
    };
    try {
      for (let at = 0; at < chunk.length; at += this.blockSize) {
        while (this.inflight >= this.window && failure === undefined && !this.destroyed)
          await new Promise<void>((r) => this.waiting.push(r));
        if (this.destroyed) fail(new Error('the stream was closed'));
        if (failure !== undefined) break;
        const block = chunk.subarray(at, at + this.blockSize);
        const seq = this.seqOut;
        this.seqOut = (this.seqOut + 1) & 0xffff;
        if (this.inflight++ === 0 && !sending) {
          // Nothing was waiting: the time counts from now.
          sending = true;
          this.clock.sending++;
          lastAck = Date.now();
          watch(ackTimeoutMs);
        }
        acks.push(
          this.xmpp.iqCaller
            .request(
              xml(
                'iq',
                { type: 'set', to: this.peer },
                xml('data', { xmlns: IBB_NS, seq, sid: this.sid }, block.toString('base64')),
              ),
              eachMs,
            )
            .then(() => {
              this.bytesTaken += block.length;
              lastAck = Date.now();
            }, fail)
            .finally(() => {
              this.inflight--;
              this.waiting.shift()?.();
            }),
        );
      }
      await Promise.race([Promise.all(acks), failed]);
    } finally {
      idle();
    }
    if (failure !== undefined) throw failure;
  }

  override _destroy(error: Error | null, cb: (e: Error | null) => void): void {
    this.onGone();
    // Whatever waits on this stream goes on (and finds it closed): a writer for room in the window, a
    // block from the peer for room in the reader.
    for (const w of this.waiting.splice(0)) w();
    this._read();
    if (!this.remoteClosed && this.xmpp.status === 'online') {
      this.xmpp.iqCaller
        .request(xml('iq', { type: 'set', to: this.peer }, xml('close', { xmlns: IBB_NS, sid: this.sid })))
        .catch(() => {});
    }
    cb(error);
  }
}

/** Routes the IBB stanzas of one XMPP connection to its streams, and accepts or opens streams. */
export class IbbEndpoint {
  private readonly streams = new Map<string, IbbStream>();
  private readonly clock: AckClock;

  /**
   * @param accept decides on a stream a peer opens: return false to refuse it (the peer gets an error)
   */
  constructor(
    private readonly xmpp: Client,
    private readonly options: IbbOptions = {},
    private readonly accept?: (stream: IbbStream) => boolean,
  ) {
    this.clock = { ackTimeoutMs: options.ackTimeoutMs ?? envNumber('QI_XMPP_ACK_TIMEOUT_MS', 30_000), sending: 0 };
    const key = (from: string, sid: string | undefined) => `${from} ${sid ?? ''}`;
    xmpp.iqCallee.set(IBB_NS, 'open', ({ stanza, from }) => {
      const open = stanza.getChild('open', IBB_NS)!;
      const size = Number(open.attrs['block-size']);
      const sid = open.attrs.sid;
      if (this.accept === undefined || !sid || !(size > 0 && size <= 65535) || open.attrs.stanza === 'message')
        return stanzaError('not-acceptable');
      const peer = from.toString();
      const k = key(peer, sid);
      if (this.streams.has(k)) return stanzaError('not-acceptable');
      const s = this.stream(peer, sid, size);
      if (!this.accept(s)) {
        this.streams.delete(k);
        return stanzaError('forbidden', 'auth');
      }
      return true;
    });
    xmpp.iqCallee.set(IBB_NS, 'data', async ({ stanza, from }) => {
      const d = stanza.getChild('data', IBB_NS)!;
      const s = this.streams.get(key(from.toString(), d.attrs.sid));
      if (s === undefined) return stanzaError('item-not-found');
      const ok = await s.received(Number(d.attrs.seq), Buffer.from(d.text(), 'base64'));
      return ok ? true : stanzaError('unexpected-request');
    });
    xmpp.iqCallee.set(IBB_NS, 'close', ({ stanza, from }) => {
      const c = stanza.getChild('close', IBB_NS)!;
      const s = this.streams.get(key(from.toString(), c.attrs.sid));
      if (s === undefined) return stanzaError('item-not-found');
      s.closedByPeer();
      return true;
    });
  }

  private stream(peer: string, sid: string, blockSize: number): IbbStream {
    const k = `${peer} ${sid}`;
    const s = new IbbStream(
      this.xmpp,
      peer,
      sid,
      blockSize,
      this.options.window ?? 8,
      () => this.streams.delete(k),
      this.clock,
    );
    this.streams.set(k, s);
    return s;
  }

  /** Opens a stream to `peer` (a full JID). */
  async open(peer: string, timeoutMs: number): Promise<IbbStream> {
    const sid = randomUUID();
    const size = this.options.blockSize ?? 16 * 1024;
    const s = this.stream(peer, sid, size);
    try {
      await this.xmpp.iqCaller.request(
        xml('iq', { type: 'set', to: peer }, xml('open', { xmlns: IBB_NS, 'block-size': size, sid, stanza: 'iq' })),
        timeoutMs,
      );
    } catch (e) {
      this.streams.delete(`${peer} ${sid}`);
      throw e;
    }
    return s;
  }

  /** Ends every stream (the XMPP connection went away). */
  closeAll(error: Error): void {
    for (const s of [...this.streams.values()]) s.destroy(error);
  }
}

/** An `<error>` for an iq answer (the iq callee sends it back as type="error"). */
function stanzaError(condition: string, type = 'cancel'): Element {
  return xml('error', { type }, xml(condition, { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }));
}
