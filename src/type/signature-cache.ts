/**
 * A cache keyed by signature text, bounded by the total length of its keys as well as by their number.
 * Peers invent signatures (every dynamic value carries one), and what is compiled from a signature costs
 * memory in proportion to its text: bounding the entry count alone let 3,000 distinct 3.6 kB signatures
 * (12 MB of traffic) hold 1.2 GB of heap (found by the fuzzer).
 */
export class SignatureCache<V> {
  private readonly entries = new Map<string, V>();
  private chars = 0;

  /**
   * @param maxChars total key length kept before the cache starts over
   * @param maxKey longer signatures are never cached (compiling them again is linear in their length)
   */
  constructor(
    private readonly maxChars = 256 * 1024,
    private readonly maxKey = 16 * 1024,
  ) {}

  get(text: string): V | undefined {
    return this.entries.get(text);
  }

  set(text: string, value: V): void {
    if (text.length > this.maxKey) return;
    if (this.chars + text.length > this.maxChars || this.entries.size >= 10_000) {
      this.entries.clear();
      this.chars = 0;
    }
    if (!this.entries.has(text)) this.chars += text.length;
    this.entries.set(text, value);
  }

  /** Number of cached signatures. */
  get size(): number {
    return this.entries.size;
  }
}
