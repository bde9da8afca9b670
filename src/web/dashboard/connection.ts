/// <reference lib="dom" />
/**
 * The dashboard's connection to the gateway: one Session at a time, its state for the status badge,
 * and reconnection (after 1, 2, 4… up to 10 s, or at once on request) when it is lost or refused.
 */
import { Session } from '../browser/index.js';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** What the status badge shows. */
export interface ConnectionStatus {
  state: ConnectionState;
  url: string;
  /** Why the last attempt failed or the connection was lost. */
  error?: string;
  /** When the next attempt starts (ms since the epoch), while disconnected. */
  retryAt?: number;
}

export class Connection {
  session: Session | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private status: ConnectionStatus;

  constructor(
    readonly url: string,
    private readonly onStatus: (s: ConnectionStatus) => void,
    private readonly onSession: (s: Session | undefined) => void,
  ) {
    this.status = { state: 'disconnected', url };
  }

  get current(): ConnectionStatus {
    return this.status;
  }

  /** Connects now (cancelling a scheduled attempt). */
  async connect(): Promise<void> {
    clearTimeout(this.timer);
    if (this.status.state === 'connecting' || this.status.state === 'connected') return;
    this.set({ state: 'connecting', url: this.url });
    try {
      const session = await Session.connect(this.url, { reconnect: false, connectTimeoutMs: 5000 });
      this.attempt = 0;
      this.session = session;
      session.directoryConnection?.onClose((e) =>
        this.lost(session, e?.message ?? 'the gateway closed the connection'),
      );
      this.set({ state: 'connected', url: this.url });
      this.onSession(session);
    } catch (e) {
      this.retry((e as Error).message);
    }
  }

  private lost(session: Session, why: string): void {
    if (this.session !== session) return;
    this.session = undefined;
    void session.close().catch(() => {});
    this.onSession(undefined);
    this.retry(why);
  }

  private retry(error: string): void {
    const delay = Math.min(10_000, 1000 * 2 ** this.attempt++);
    this.set({ state: 'disconnected', url: this.url, error, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private set(s: ConnectionStatus): void {
    this.status = s;
    this.onStatus(s);
  }
}
