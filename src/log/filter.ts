/**
 * What a listener shows: a default level, and category filters whose pattern may hold `*` wildcards
 * (as libqi's `addFilter`: `audio.*`). The last filter matching a category sets its level.
 */

/** True when `category` matches `pattern`, where `*` stands for any run of characters. */
export function categoryMatches(category: string, pattern: string): boolean {
  // Greedy matching that backs up to the last star only: at most length × length steps, never a regex
  // that a hostile pattern (`*a*a*a…`) could make exponential.
  let c = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (c < category.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === category[c]) {
      c++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = c;
    } else if (star >= 0) {
      p = star + 1;
      c = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Most filters one listener keeps: a client adding more gets an error, not unbounded memory. */
export const MAX_FILTERS = 256;

/** A level and category filters; {@link LogFilter.passes} decides for one record. */
export class LogFilter {
  private filters: [pattern: string, level: number][] = [];

  constructor(public level = 4) {}

  /** Sets the level of the categories matching `pattern` (replacing an earlier filter of the same pattern). */
  add(pattern: string, level: number): void {
    this.filters = this.filters.filter(([p]) => p !== pattern);
    if (this.filters.length >= MAX_FILTERS)
      throw new Error(
        `too many log filters (at most ${MAX_FILTERS}): call clearFilters() and add fewer, broader patterns such as "audio.*"`,
      );
    this.filters.push([pattern, level]);
  }

  clear(): void {
    this.filters = [];
  }

  /** The level that applies to `category`. */
  levelOf(category: string): number {
    for (let i = this.filters.length - 1; i >= 0; i--)
      if (categoryMatches(category, this.filters[i][0])) return this.filters[i][1];
    return this.level;
  }

  passes(level: number, category: string): boolean {
    return level > 0 && level <= this.levelOf(category);
  }
}
