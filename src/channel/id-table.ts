/**
 * A table keyed by message id (a uint32): the calls of a connection waiting for their answers, and the
 * peer's calls running here. It does what a `Map<number, V>` does for these tables at a fraction of the
 * cost: a connection with calls in flight adds and removes an id per call, and V8's hash tables shrink
 * and grow again each time the number in flight swings between zero and a few dozen (allocating and
 * rehashing; about 150 ns per call against 25 ns here, measured with 64 in flight).
 *
 * Open addressing with linear probing and backward-shift removal (no tombstones), in two parallel
 * arrays. The slot of an id is a multiply-shift hash with a multiplier drawn at random per table, so
 * that a peer choosing its call ids cannot make them collide on purpose.
 */

/** Slots of a new table; it never shrinks below this. Holds 64 ids without growing. */
const MIN_SLOTS = 128;

/** A random odd 32-bit multiplier. */
const oddMultiplier = () => ((Math.random() * 0x1_0000_0000) | 1) >>> 0;

/** Ids (uint32) to values; `undefined` cannot be stored. */
export class IdTable<V> {
  private ids = new Uint32Array(MIN_SLOTS);
  private values: (V | undefined)[] = new Array<V | undefined>(MIN_SLOTS).fill(undefined);
  private mask = MIN_SLOTS - 1;
  /** 32 - log2(slots): the hash keeps the top bits of the product. */
  private shift = 32 - Math.log2(MIN_SLOTS);
  private readonly multiplier = oddMultiplier();
  private count = 0;

  /** Ids in the table. */
  get size(): number {
    return this.count;
  }

  private slot(id: number): number {
    return Math.imul(id, this.multiplier) >>> this.shift;
  }

  /** The slot holding `id`, or -1. */
  private find(id: number): number {
    const ids = this.ids;
    const values = this.values;
    for (let i = this.slot(id); ; i = (i + 1) & this.mask) {
      if (values[i] === undefined) return -1;
      if (ids[i] === id) return i;
    }
  }

  /** The value of `id`, or undefined. */
  get(id: number): V | undefined {
    const i = this.find(id);
    return i < 0 ? undefined : this.values[i];
  }

  /** True when `id` is in the table. */
  has(id: number): boolean {
    return this.find(id) >= 0;
  }

  /** Sets the value of `id` (a uint32). */
  set(id: number, value: V): void {
    if ((this.count + 1) * 2 > this.ids.length) this.resize(this.ids.length * 2);
    const ids = this.ids;
    const values = this.values;
    for (let i = this.slot(id); ; i = (i + 1) & this.mask) {
      if (values[i] === undefined) {
        ids[i] = id;
        values[i] = value;
        this.count++;
        return;
      }
      if (ids[i] === id) {
        values[i] = value;
        return;
      }
    }
  }

  /** Removes `id` and gives its value (undefined when it was not there). */
  take(id: number): V | undefined {
    let i = this.find(id);
    if (i < 0) return undefined;
    const ids = this.ids;
    const values = this.values;
    const mask = this.mask;
    const value = values[i];
    this.count--;
    // Backward shift: every id after the hole that may live in it moves up, so lookups never stop early.
    for (let j = (i + 1) & mask; values[j] !== undefined; j = (j + 1) & mask) {
      if (((j - this.slot(ids[j])) & mask) >= ((j - i) & mask)) {
        ids[i] = ids[j];
        values[i] = values[j];
        i = j;
      }
    }
    values[i] = undefined;
    if (this.ids.length > MIN_SLOTS && this.count * 16 < this.ids.length) this.resize(this.count * 4);
    return value;
  }

  /** Removes `id`; true when it was there. */
  delete(id: number): boolean {
    return this.take(id) !== undefined;
  }

  /** The values, in no particular order (a copy: the table may change while it is read). */
  valueList(): V[] {
    const out: V[] = [];
    for (const v of this.values) if (v !== undefined) out.push(v);
    return out;
  }

  /** Removes every id. */
  clear(): void {
    this.resize(MIN_SLOTS, true);
  }

  /** Rebuilds with the smallest power of two of slots that is at least `atLeast` (and MIN_SLOTS). */
  private resize(atLeast: number, empty = false): void {
    let n = MIN_SLOTS;
    while (n < atLeast) n *= 2;
    const ids = this.ids;
    const values = this.values;
    this.ids = new Uint32Array(n);
    this.values = new Array<V | undefined>(n).fill(undefined);
    this.mask = n - 1;
    this.shift = 32 - Math.log2(n);
    this.count = 0;
    if (empty) return;
    for (let i = 0; i < ids.length; i++) {
      const v = values[i];
      if (v !== undefined) this.set(ids[i], v);
    }
  }
}
