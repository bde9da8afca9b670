/**
 * The rosbridge v2 protocol as this bridge speaks it: the operations it understands, status levels,
 * and the checks on incoming JSON. Messages are JSON text frames; every operation is an object with an
 * `op` field (rosbridge_suite's ROSBRIDGE_PROTOCOL.md).
 */

/** Operations a client may send. */
export const CLIENT_OPS = [
  'call_service',
  'subscribe',
  'unsubscribe',
  'publish',
  'advertise',
  'unadvertise',
  'advertise_service',
  'unadvertise_service',
  'service_response',
  'set_level',
  'fragment',
  'auth',
] as const;

export type ClientOp = (typeof CLIENT_OPS)[number];

/** Status levels, most severe first: a client sees statuses at its level and above (default `error`). */
export const LEVELS = ['none', 'error', 'warning', 'info'] as const;
export type StatusLevel = (typeof LEVELS)[number];

/** True when a status of `level` is shown to a client that asked for `wanted`. */
export function shown(level: Exclude<StatusLevel, 'none'>, wanted: StatusLevel): boolean {
  return LEVELS.indexOf(level) <= LEVELS.indexOf(wanted);
}

/** An incoming operation: an object with a string `op`. Other fields are checked where they are used. */
export interface IncomingOp {
  op: string;
  id?: unknown;
  [field: string]: unknown;
}

/** A message that is not a rosbridge operation. */
export class RosProtocolError extends Error {
  constructor(
    message: string,
    readonly id?: string,
  ) {
    super(message);
  }
}

/** Parses one text frame. @throws {@link RosProtocolError} saying what is wrong */
export function parseOp(text: string): IncomingOp {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    throw new RosProtocolError(
      `malformed JSON (${(e as Error).message}) in ${JSON.stringify(shown)}; rosbridge messages are JSON objects with an "op" field`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new RosProtocolError('a rosbridge message is a JSON object with an "op" field');
  const m = v as IncomingOp;
  const id = idOf(m);
  if (typeof m.op !== 'string')
    throw new RosProtocolError('the message has no "op" field (a string such as "call_service" or "subscribe")', id);
  return m;
}

/** The `id` of an operation as a string, when it has one. */
export function idOf(m: { id?: unknown }): string | undefined {
  return typeof m.id === 'string' ? m.id : typeof m.id === 'number' ? String(m.id) : undefined;
}

/** A required string field. @throws {@link RosProtocolError} */
export function field(m: IncomingOp, name: string): string {
  const v = m[name];
  if (typeof v !== 'string' || v === '')
    throw new RosProtocolError(`${m.op}: the "${name}" field is missing or not a string`, idOf(m));
  return v;
}

/** Reassembles fragmented messages (`fragment` op), bounded in size and in number. */
export class Fragments {
  private readonly parts = new Map<string, { total: number; got: number; data: string[]; bytes: number }>();

  constructor(
    private readonly maxBytes: number,
    private readonly maxPending = 16,
  ) {}

  /** Adds one fragment; returns the whole message text once complete. @throws {@link RosProtocolError} */
  add(m: IncomingOp): string | undefined {
    const id = field(m, 'id');
    const { num, total, data } = m;
    if (
      typeof data !== 'string' ||
      !Number.isInteger(num) ||
      !Number.isInteger(total) ||
      (total as number) < 1 ||
      (num as number) < 0 ||
      (num as number) >= (total as number) ||
      (total as number) > 100_000
    ) {
      throw new RosProtocolError(
        'fragment: expected "data" (text), "num" and "total" (integers, 0 <= num < total)',
        id,
      );
    }
    let entry = this.parts.get(id);
    if (entry === undefined) {
      if (this.parts.size >= this.maxPending)
        throw new RosProtocolError(`fragment: more than ${this.maxPending} fragmented messages pending at once`, id);
      entry = { total: total as number, got: 0, data: [], bytes: 0 };
      this.parts.set(id, entry);
    }
    if (entry.total !== total)
      throw new RosProtocolError(`fragment: "total" changed from ${entry.total} to ${String(total)}`, id);
    if (entry.data[num as number] === undefined) {
      entry.got++;
      entry.bytes += data.length;
    }
    entry.data[num as number] = data;
    if (entry.bytes > this.maxBytes) {
      this.parts.delete(id);
      throw new RosProtocolError(`fragment: the message is larger than ${this.maxBytes} bytes`, id);
    }
    if (entry.got < entry.total) return undefined;
    this.parts.delete(id);
    return entry.data.join('');
  }
}
