// Half-open intervals of byte strings, [start, end), and the way etcd names them with a
// (key, range_end) pair.
import { compareBytes, successor } from './bytes.js';

/**
 * The byte strings k with start <= k < end. `end: null` means no upper bound (every k >= start).
 * An interval with end <= start is empty; the tree refuses to store one.
 */
export interface Interval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | null;
}

/**
 * The interval etcd means by a (key, range_end) pair in a range, delete or watch request:
 *
 *   range_end empty      -> the single key:      [key, key+"\0")
 *   range_end = "\0"     -> every key >= key:     [key, null)
 *   range_end >  key     -> [key, range_end)
 *   range_end <= key     -> nothing: undefined
 *
 * (Callers that give an empty key a special meaning, as etcd's watch does with "\0", apply it
 * before calling.)
 */
export function keyRangeInterval(key: Uint8Array, rangeEnd: Uint8Array): Interval | undefined {
  if (rangeEnd.length === 0) return { start: key, end: successor(key) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: null };
  if (compareBytes(rangeEnd, key) <= 0) return undefined;
  return { start: key, end: rangeEnd };
}

/** Compares two upper bounds, `null` (unbounded) after every byte string. */
export function compareEnds(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return compareBytes(a, b);
}

/** Orders intervals by start, then by end: the order of the interval tree. */
export function compareIntervals(a: Interval, b: Interval): number {
  return compareBytes(a.start, b.start) || compareEnds(a.end, b.end);
}

export function isEmptyInterval(i: Interval): boolean {
  return i.end !== null && compareBytes(i.end, i.start) <= 0;
}

/** True when `point` lies in the interval. */
export function containsPoint(i: Interval, point: Uint8Array): boolean {
  return compareBytes(i.start, point) <= 0 && (i.end === null || compareBytes(point, i.end) < 0);
}

/** True when the intervals share at least one byte string. Empty intervals overlap nothing. */
export function intervalsOverlap(a: Interval, b: Interval): boolean {
  if (isEmptyInterval(a) || isEmptyInterval(b)) return false;
  return (b.end === null || compareBytes(a.start, b.end) < 0) && (a.end === null || compareBytes(b.start, a.end) < 0);
}
