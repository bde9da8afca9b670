/**
 * How a float32 reads: the shortest decimal that is the same float32, so a volume written as 0.8 reads
 * 0.8 and not 0.800000011920929 (its exact value as a JS double). Used wherever values are shown to
 * people: the `qi` command line and the web dashboard.
 */

/**
 * The shortest number (at most 9 significant digits) that rounds to the same float32 as `v`; `v`
 * itself when it is not a float32 value (a double with more precision, NaN, ±Infinity).
 */
export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || Math.fround(v) !== v) return v;
  for (let digits = 1; digits <= 9; digits++) {
    const shorter = Number(v.toPrecision(digits));
    if (Math.fround(shorter) === v) return shorter;
  }
  return v;
}
