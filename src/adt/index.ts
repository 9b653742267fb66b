// Public surface of adt: generic data structures over byte strings. No domain types live here.
export { EMPTY_BYTES, NO_END, compareBytes, equalBytes, hasPrefix, prefixEnd, successor, byteString } from './bytes.js';
export type { Interval } from './interval.js';
export { keyRangeInterval, compareEnds, compareIntervals, isEmptyInterval, containsPoint, intervalsOverlap } from './interval.js';
export { IntervalTree } from './interval-tree.js';
export type { IntervalVisitor } from './interval-tree.js';
export { encodeJsonPayload, decodeJsonPayload } from './json-payload.js';
export { SortedMap } from './sorted-map.js';
