/**
 * The WebRTC stacks of the stack comparison bench (ice-stacks.bench.ts), each behind one small interface, plus
 * a TCP socket as the baseline: the offerer makes an offer with every candidate (non-trickle), takes the
 * answer and resolves once its one reliable, ordered DataChannel is open; the answerer takes the offer and
 * gives the answer, also complete. What moves over the channel is the same {@link Pipe} for every stack.
 *
 * - `werift`: pure TypeScript (ICE, DTLS, SCTP in JS), the stack our direct links use today.
 * - `node-datachannel`: libdatachannel (libjuice ICE, usrsctp SCTP, OpenSSL DTLS) through its own API.
 * - `wrtc`: `@roamhq/wrtc`, Google's libwebrtc behind the W3C API.
 * - `tcp`: a plain TCP connection (no SDP: the "answer" is the listening address), the kernel's floor.
 */
import { createServer, connect, type Socket } from 'node:net';
import { parseCandidate } from '../src/remote/ice/sdp.js';
import { parseIceServers, toRtcIceServer } from '../src/remote/ice/servers.js';

/** One DataChannel (or socket) as the bench uses it: the same calls for every stack. */
export interface Pipe {
  send(b: Buffer): void;
  /** Bytes accepted by send() and not yet handed to the network. */
  buffered(): number;
  /** Called when buffered() falls to {@link LOW} (or, for TCP, to 0: the socket's 'drain'). */
  onLow(cb: () => void): void;
  onData(cb: (b: Buffer) => void): void;
  /** The selected candidate pair's types, `local↔remote` (e.g. `srflx↔prflx`), when the stack says. */
  path(): Promise<string | undefined>;
}

/** A description to send: the SDP, and whether gathering was cut by the bound (else it was complete). */
export interface Local {
  sdp: string;
  cut: boolean;
}

/** The offerer's side: its offer, then the channel once the answer is applied. */
export interface Offering extends Local {
  open(answer: string): Promise<Pipe>;
}

/** The answerer's side: its answer, and the channel the offerer opens. */
export interface Answering extends Local {
  opened: Promise<Pipe>;
}

/** How both sides start. */
export interface StackOptions {
  /** STUN/TURN URLs (`stun:host:port`, `turn:user:password@host:port?transport=udp`). */
  servers: string[];
  /**
   * Gathering ends when the stack says it is complete or after this many ms, whichever comes first (our
   * links' `gatherTimeoutMs` rule); the description then carries the candidates gathered so far.
   */
  gatherMs: number;
  /** TCP only: the address the answerer listens on. */
  listen: string;
}

/** A stack: how each side starts. */
export interface Stack {
  /** Loads the stack's module (before the clock starts). */
  load(): Promise<unknown>;
  offer(o: StackOptions): Promise<Offering>;
  answer(offer: string, o: StackOptions): Promise<Answering>;
}

/** The backpressure rule of every stack: stop sending at 1 MiB buffered, resume once down to 256 KiB. */
export const HIGH = 1024 * 1024;
export const LOW = 256 * 1024;

const LABEL = 'bench';

/** Resolves true once `p` resolves, or false after `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]).finally(
    () => clearTimeout(t),
  );
}

/** The `typ` of a `candidate:…` line (host, srflx, prflx, relay). */
const candidateType = (line: string) => parseCandidate(line)?.type;

// ---------------------------------------------------------------------------------------------
// werift

type Werift = typeof import('werift');
type WeriftPeer = InstanceType<Werift['RTCPeerConnection']>;
type WeriftChannel = ReturnType<WeriftPeer['createDataChannel']>;

function weriftPeer(w: Werift, servers: string[]): WeriftPeer {
  // As src/remote/ice/peer.ts configures it for links: the given servers only, no IPv6 candidates.
  return new w.RTCPeerConnection({ iceServers: parseIceServers(servers).map(toRtcIceServer), iceUseIpv6: false });
}

function weriftPipe(pc: WeriftPeer, dc: WeriftChannel): Pipe {
  dc.bufferedAmountLowThreshold = LOW;
  return {
    send: (b) => dc.send(b),
    buffered: () => dc.bufferedAmount,
    onLow: (cb) => void dc.bufferedAmountLow.subscribe(() => cb()),
    onData: (cb) => void dc.onMessage.subscribe((m) => cb(typeof m === 'string' ? Buffer.from(m) : m)),
    path: () => {
      for (const t of pc.iceTransports) {
        const p = t.getSelectedCandidatePair();
        if (p) return Promise.resolve(`${candidateType(p.local.candidate)}↔${candidateType(p.remote.candidate)}`);
      }
      return Promise.resolve(undefined);
    },
  };
}

function weriftOpen(dc: WeriftChannel): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const sub = dc.stateChanged.subscribe((s) => s === 'open' && (sub.unSubscribe(), resolve()));
  });
}

/**
 * werift resolves setLocalDescription once gathering is complete, and only then puts the candidates in its
 * description: past the bound there is nothing to send (our links add the candidates seen so far; a bare
 * werift here just fails, which it never did on the lab).
 */
async function weriftLocal(pc: WeriftPeer, d: Parameters<WeriftPeer['setLocalDescription']>[0], ms: number) {
  const setting = pc.setLocalDescription(d);
  setting.catch(() => {});
  if (!(await within(setting, ms))) throw new Error(`werift: gathering not complete within ${ms} ms`);
  return { sdp: pc.localDescription!.sdp, cut: false };
}

const werift: Stack = {
  load: () => import('werift'),
  async offer({ servers, gatherMs }) {
    const w = await import('werift');
    const pc = weriftPeer(w, servers);
    const dc = pc.createDataChannel(LABEL, { ordered: true });
    return {
      ...(await weriftLocal(pc, await pc.createOffer(), gatherMs)),
      async open(answer) {
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        await weriftOpen(dc);
        return weriftPipe(pc, dc);
      },
    };
  },
  async answer(offer, { servers, gatherMs }) {
    const w = await import('werift');
    const pc = weriftPeer(w, servers);
    const opened = new Promise<Pipe>((resolve) =>
      pc.onDataChannel.subscribe((dc) => void weriftOpen(dc).then(() => resolve(weriftPipe(pc, dc)))),
    );
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    return { ...(await weriftLocal(pc, await pc.createAnswer(), gatherMs)), opened };
  },
};

// ---------------------------------------------------------------------------------------------
// node-datachannel (libdatachannel)

type Ndc = typeof import('node-datachannel');
type NdcPeer = InstanceType<Ndc['PeerConnection']>;
type NdcChannel = ReturnType<NdcPeer['createDataChannel']>;

function ndcPeer(n: Ndc, servers: string[], gatherMs: number): { pc: NdcPeer; gathered: () => Promise<Local> } {
  const iceServers = parseIceServers(servers).map((s) => ({
    hostname: s.host,
    port: s.port,
    ...(s.kind === 'stun'
      ? {}
      : { username: s.username, password: s.credential, relayType: s.transport === 'tcp' ? 'TurnTcp' : 'TurnUdp' }),
  })) as Array<{ hostname: string; port: number }>;
  const pc = new n.PeerConnection(LABEL, { iceServers });
  const complete = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
  // Its local description has the candidates gathered so far: past the bound, those are sent.
  const gathered = async () => {
    const cut = !(await within(complete, gatherMs));
    return { sdp: pc.localDescription()!.sdp, cut };
  };
  return { pc, gathered };
}

function ndcPipe(pc: NdcPeer, dc: NdcChannel): Pipe {
  dc.setBufferedAmountLowThreshold(LOW);
  return {
    send: (b) => void dc.sendMessageBinary(b),
    buffered: () => dc.bufferedAmount(),
    onLow: (cb) => dc.onBufferedAmountLow(cb),
    onData: (cb) => dc.onMessage((m) => cb(typeof m === 'string' ? Buffer.from(m) : Buffer.from(m as Uint8Array))),
    path: () => {
      const p = pc.getSelectedCandidatePair();
      return Promise.resolve(p ? `${p.local.type}↔${p.remote.type}` : undefined);
    },
  };
}

const ndcOpen = (dc: NdcChannel) => new Promise<void>((resolve) => (dc.isOpen() ? resolve() : dc.onOpen(resolve)));

const nodeDatachannel: Stack = {
  load: () => import('node-datachannel'),
  async offer({ servers, gatherMs }) {
    const n = await import('node-datachannel');
    const { pc, gathered } = ndcPeer(n, servers, gatherMs);
    const dc = pc.createDataChannel(LABEL); // reliable and ordered by default; starts the offer
    return {
      ...(await gathered()),
      async open(answer) {
        pc.setRemoteDescription(answer, 'answer');
        await ndcOpen(dc);
        return ndcPipe(pc, dc);
      },
    };
  },
  async answer(offer, { servers, gatherMs }) {
    const n = await import('node-datachannel');
    const { pc, gathered } = ndcPeer(n, servers, gatherMs);
    const opened = new Promise<Pipe>((resolve) =>
      pc.onDataChannel((dc) => void ndcOpen(dc).then(() => resolve(ndcPipe(pc, dc)))),
    );
    pc.setRemoteDescription(offer, 'offer'); // answers by itself
    return { ...(await gathered()), opened };
  },
};

// ---------------------------------------------------------------------------------------------
// @roamhq/wrtc (libwebrtc, W3C API). Its types need the DOM library; these are the few members used.

interface W3cChannel {
  readyState: string;
  readonly bufferedAmount: number;
  binaryType: string;
  onopen: (() => void) | null;
  onmessage: ((e: { data: ArrayBuffer | string }) => void) | null;
  send(b: Uint8Array): void;
}

interface W3cPeer {
  createDataChannel(label: string, o: { ordered: boolean }): W3cChannel;
  createOffer(): Promise<{ type: 'offer'; sdp: string }>;
  createAnswer(): Promise<{ type: 'answer'; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  readonly localDescription: { sdp: string } | null;
  readonly iceGatheringState: string;
  onicegatheringstatechange: (() => void) | null;
  ondatachannel: ((e: { channel: W3cChannel }) => void) | null;
  getStats(): Promise<Map<string, Record<string, unknown>>>;
}

type W3cPeerClass = new (c: { iceServers: object[] }) => W3cPeer;

async function wrtcPeer(servers: string[]): Promise<W3cPeer> {
  const m = (await import('@roamhq/wrtc')) as unknown as { default: { RTCPeerConnection: W3cPeerClass } };
  return new m.default.RTCPeerConnection({ iceServers: parseIceServers(servers).map(toRtcIceServer) });
}

/**
 * Applies a local description and resolves with it once gathering is complete, or after `ms` with the
 * candidates gathered so far (libwebrtc keeps its local description up to date). On the lab it needs the
 * bound: its loopback sockets (127.0.0.1, ::1) also ask the STUN server, never hear back, and keep
 * gathering open for about 40 s.
 */
async function wrtcLocal(pc: W3cPeer, d: { type: string; sdp: string }, ms: number): Promise<Local> {
  const complete = new Promise<void>((resolve) => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  await pc.setLocalDescription(d);
  const cut = pc.iceGatheringState !== 'complete' && !(await within(complete, ms));
  return { sdp: pc.localDescription!.sdp, cut };
}

const wrtcOpen = (dc: W3cChannel) =>
  new Promise<void>((resolve) => (dc.readyState === 'open' ? resolve() : (dc.onopen = () => resolve())));

/**
 * The binding has no `bufferedAmountLowThreshold` nor `bufferedamountlow` event (libwebrtc has them; the
 * binding does not pass them on): while more than {@link LOW} is buffered, bufferedAmount is polled every
 * millisecond, and the crossing is reported as the event would be.
 */
function wrtcPipe(pc: W3cPeer, dc: W3cChannel): Pipe {
  dc.binaryType = 'arraybuffer';
  const lows: Array<() => void> = [];
  let poll: NodeJS.Timeout | undefined;
  const watch = () => {
    if (poll !== undefined || dc.bufferedAmount <= LOW) return;
    poll = setInterval(() => {
      if (dc.bufferedAmount > LOW) return;
      clearInterval(poll);
      poll = undefined;
      for (const cb of lows) cb();
    }, 1);
  };
  return {
    send: (b) => (dc.send(b), watch()),
    buffered: () => dc.bufferedAmount,
    onLow: (cb) => void lows.push(cb),
    onData: (cb) => (dc.onmessage = (e) => cb(typeof e.data === 'string' ? Buffer.from(e.data) : Buffer.from(e.data))),
    async path() {
      const stats = [...(await pc.getStats()).values()];
      const transport = stats.find((s) => s.type === 'transport');
      const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
      const type = (id: unknown) => stats.find((s) => s.id === id)?.candidateType as string | undefined;
      return pair ? `${type(pair.localCandidateId)}↔${type(pair.remoteCandidateId)}` : undefined;
    },
  };
}

const wrtc: Stack = {
  load: () => import('@roamhq/wrtc'),
  async offer({ servers, gatherMs }) {
    const pc = await wrtcPeer(servers);
    const dc = pc.createDataChannel(LABEL, { ordered: true });
    return {
      ...(await wrtcLocal(pc, await pc.createOffer(), gatherMs)),
      async open(answer) {
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        await wrtcOpen(dc);
        return wrtcPipe(pc, dc);
      },
    };
  },
  async answer(offer, { servers, gatherMs }) {
    const pc = await wrtcPeer(servers);
    const opened = new Promise<Pipe>((resolve) => {
      pc.ondatachannel = (e) => void wrtcOpen(e.channel).then(() => resolve(wrtcPipe(pc, e.channel)));
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    return { ...(await wrtcLocal(pc, await pc.createAnswer(), gatherMs)), opened };
  },
};

// ---------------------------------------------------------------------------------------------
// TCP, the baseline

function tcpPipe(s: Socket): Pipe {
  s.setNoDelay(true);
  return {
    send: (b) => void s.write(b),
    buffered: () => s.writableLength,
    onLow: (cb) => void s.on('drain', cb),
    onData: (cb) => void s.on('data', cb),
    path: () => Promise.resolve('tcp'),
  };
}

const tcp: Stack = {
  load: () => Promise.resolve(),
  offer() {
    return Promise.resolve({
      sdp: '',
      cut: false,
      open(answer) {
        const i = answer.lastIndexOf(':');
        return new Promise<Pipe>((resolve, reject) => {
          const s = connect(Number(answer.slice(i + 1)), answer.slice(0, i), () => resolve(tcpPipe(s)));
          s.once('error', reject);
        });
      },
    });
  },
  answer(_offer, { listen }) {
    return new Promise((resolve, reject) => {
      let got: (p: Pipe) => void = () => {};
      const opened = new Promise<Pipe>((r) => (got = r));
      const server = createServer((s) => (server.close(), got(tcpPipe(s))));
      server.once('error', reject);
      server.listen(0, listen, () => {
        const a = server.address() as { address: string; port: number };
        resolve({ sdp: `${a.address}:${a.port}`, cut: false, opened });
      });
    });
  },
};

/** The stacks by name, in the bench's order (the baseline first). */
export const STACKS: Record<string, Stack> = { tcp, werift, 'node-datachannel': nodeDatachannel, wrtc };
