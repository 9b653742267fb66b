// An interval tree over byte-string intervals: a map from distinct intervals to values, with
// stabbing queries (which intervals contain key k) and overlap queries (which intervals share a key
// with [s, e)). The watch hub keeps range watchers in one; auth and tenants will keep key-range
// permissions in one.
//
// Shape: an AVL tree ordered by (start, end), each node augmented with `maxEnd`, the largest end
// in its subtree (null = unbounded, larger than any byte string).
//
// Invariants (checkInvariants verifies all of them):
//   T1 in-order traversal is strictly increasing by (start, end): one node per distinct interval;
//   T2 every node's height is 1 + the larger child height (an absent child has height 0);
//   T3 AVL balance: child heights differ by at most 1, so the height is at most ~1.44 log2(n);
//   T4 maxEnd of a node is the largest of its own end and its children's maxEnd;
//   T5 no stored interval is empty (end <= start).
//
// Why the queries are O(log n + k): a subtree whose maxEnd <= k holds no interval reaching k, and
// once a node starts after k so does its whole right subtree; both are skipped.
//
// Worked example, a stab at "b" over four intervals (ends shown with maxEnd in brackets):
//
//                  [a, c) [null]
//                 /              \
//        [a, b) [b]             [c, null) [null]
//                                /
//                      [b, b\0) [b\0]
//
//   root: maxEnd null > "b", so look left: [a, b) has maxEnd "b" <= "b" -> skip it whole.
//   root [a, c) contains "b" -> report. Go right: [c, null) maxEnd null, look left:
//   [b, b\0) contains "b" -> report. [c, null) starts after "b" -> stop (its right too).
//   Reported: [a, c), [b, b\0) (in interval order).
import { compareBytes } from './bytes.js';
import { compareEnds, compareIntervals, isEmptyInterval, type Interval } from './interval.js';

interface Node<V> {
  readonly ivl: Interval;
  value: V;
  left: Node<V> | null;
  right: Node<V> | null;
  height: number;
  maxEnd: Uint8Array | null;
}

const height = <V>(n: Node<V> | null): number => (n === null ? 0 : n.height);

function maxEnd(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  return compareEnds(a, b) >= 0 ? a : b;
}

/** Recomputes height and maxEnd from the children (T2, T4). */
function update<V>(n: Node<V>): void {
  const l = n.left;
  const r = n.right;
  n.height = 1 + Math.max(height(l), height(r));
  let m = n.ivl.end;
  if (l !== null) m = maxEnd(m, l.maxEnd);
  if (r !== null) m = maxEnd(m, r.maxEnd);
  n.maxEnd = m;
}

function rotateRight<V>(n: Node<V>): Node<V> {
  const l = n.left as Node<V>;
  n.left = l.right;
  l.right = n;
  update(n);
  update(l);
  return l;
}

function rotateLeft<V>(n: Node<V>): Node<V> {
  const r = n.right as Node<V>;
  n.right = r.left;
  r.left = n;
  update(n);
  update(r);
  return r;
}

/** Restores T3 at `n` after one of its subtrees changed height by at most 1. */
function balance<V>(n: Node<V>): Node<V> {
  update(n);
  const bf = height(n.left) - height(n.right);
  if (bf > 1) {
    const l = n.left as Node<V>;
    if (height(l.left) < height(l.right)) n.left = rotateLeft(l);
    return rotateRight(n);
  }
  if (bf < -1) {
    const r = n.right as Node<V>;
    if (height(r.right) < height(r.left)) n.right = rotateRight(r);
    return rotateLeft(n);
  }
  return n;
}

/** Return `true` from a visitor to stop the walk. */
export type IntervalVisitor<V> = (ivl: Interval, value: V) => boolean | void;

export class IntervalTree<V> {
  private root: Node<V> | null = null;
  private count = 0;
  // Set by deleteAt: whether the interval was found (recursion returns the new subtree instead).
  private removed = false;

  get size(): number {
    return this.count;
  }

  /** The value stored for exactly this interval. */
  get(ivl: Interval): V | undefined {
    let n = this.root;
    while (n !== null) {
      const c = compareIntervals(ivl, n.ivl);
      if (c === 0) return n.value;
      n = c < 0 ? n.left : n.right;
    }
    return undefined;
  }

  /** Stores `value` for the interval, replacing the value of an equal interval. O(log n). */
  set(ivl: Interval, value: V): void {
    if (isEmptyInterval(ivl)) throw new TypeError('IntervalTree: an empty interval (end <= start) cannot be stored');
    this.root = this.insertAt(this.root, ivl, value);
  }

  /** Removes exactly this interval; false if it was not stored. O(log n). */
  delete(ivl: Interval): boolean {
    this.removed = false;
    this.root = this.deleteAt(this.root, ivl);
    if (this.removed) this.count--;
    return this.removed;
  }

  clear(): void {
    this.root = null;
    this.count = 0;
  }

  /** Visits, in interval order, every stored interval that contains `point`. */
  stab(point: Uint8Array, visit: IntervalVisitor<V>): void {
    this.walk(point, null, true, visit);
  }

  /** The stored intervals containing `point`, in interval order. */
  stabbing(point: Uint8Array): [Interval, V][] {
    const out: [Interval, V][] = [];
    this.stab(point, (i, v) => void out.push([i, v]));
    return out;
  }

  /** Visits, in interval order, every stored interval that overlaps `query`. */
  overlap(query: Interval, visit: IntervalVisitor<V>): void {
    if (isEmptyInterval(query)) return;
    this.walk(query.start, query.end, false, visit);
  }

  overlapping(query: Interval): [Interval, V][] {
    const out: [Interval, V][] = [];
    this.overlap(query, (i, v) => void out.push([i, v]));
    return out;
  }

  /** True when some stored interval overlaps `query`. O(log n). */
  intersects(query: Interval): boolean {
    let found = false;
    this.overlap(query, () => (found = true));
    return found;
  }

  /** Every entry in interval order. */
  *entries(): IterableIterator<[Interval, V]> {
    const stack: Node<V>[] = [];
    let n = this.root;
    while (n !== null || stack.length > 0) {
      while (n !== null) {
        stack.push(n);
        n = n.left;
      }
      const top = stack.pop() as Node<V>;
      yield [top.ivl, top.value];
      n = top.right;
    }
  }

  /** Throws an Error naming the first violated invariant (T1-T5). For tests. */
  checkInvariants(): void {
    let seen = 0;
    let prev: Interval | undefined;
    const check = (n: Node<V> | null): void => {
      if (n === null) return;
      check(n.left);
      if (isEmptyInterval(n.ivl)) throw new Error('T5: an empty interval is stored');
      if (prev !== undefined && compareIntervals(prev, n.ivl) >= 0) throw new Error('T1: in-order intervals are not strictly increasing');
      prev = n.ivl;
      seen++;
      check(n.right);
      const hl = height(n.left);
      const hr = height(n.right);
      if (n.height !== 1 + Math.max(hl, hr)) throw new Error(`T2: height ${n.height}, children ${hl}/${hr}`);
      if (Math.abs(hl - hr) > 1) throw new Error(`T3: unbalanced node, children ${hl}/${hr}`);
      let m = n.ivl.end;
      if (n.left !== null) m = maxEnd(m, n.left.maxEnd);
      if (n.right !== null) m = maxEnd(m, n.right.maxEnd);
      if (compareEnds(m, n.maxEnd) !== 0) throw new Error('T4: maxEnd is not the largest end of the subtree');
    };
    check(this.root);
    if (seen !== this.count) throw new Error(`size ${this.count} but ${seen} nodes`);
  }

  private insertAt(n: Node<V> | null, ivl: Interval, value: V): Node<V> {
    if (n === null) {
      this.count++;
      return { ivl, value, left: null, right: null, height: 1, maxEnd: ivl.end };
    }
    const c = compareIntervals(ivl, n.ivl);
    if (c === 0) {
      n.value = value;
      return n;
    }
    if (c < 0) n.left = this.insertAt(n.left, ivl, value);
    else n.right = this.insertAt(n.right, ivl, value);
    return balance(n);
  }

  private deleteAt(n: Node<V> | null, ivl: Interval): Node<V> | null {
    if (n === null) return null;
    const c = compareIntervals(ivl, n.ivl);
    if (c < 0) n.left = this.deleteAt(n.left, ivl);
    else if (c > 0) n.right = this.deleteAt(n.right, ivl);
    else {
      this.removed = true;
      if (n.left === null) return n.right;
      if (n.right === null) return n.left;
      // Two children: the in-order successor (leftmost of the right subtree) takes n's place.
      const { min, rest } = removeMin(n.right);
      min.left = n.left;
      min.right = rest;
      return balance(min);
    }
    return balance(n);
  }

  /**
   * The one walk behind stab and overlap. Reports intervals with start < hi (start <= lo when
   * stabbing, where the query is the point lo) whose end is after lo.
   */
  private walk(lo: Uint8Array, hi: Uint8Array | null, stabbing: boolean, visit: IntervalVisitor<V>): void {
    let stop = false;
    const go = (node: Node<V> | null): void => {
      let n = node;
      while (n !== null && !stop) {
        // Nothing in this subtree ends after lo.
        if (n.maxEnd !== null && compareBytes(lo, n.maxEnd) >= 0) return;
        go(n.left);
        if (stop) return;
        // This node, and its whole right subtree, start too late.
        if (stabbing ? compareBytes(n.ivl.start, lo) > 0 : hi !== null && compareBytes(n.ivl.start, hi) >= 0) return;
        if ((n.ivl.end === null || compareBytes(lo, n.ivl.end) < 0) && visit(n.ivl, n.value) === true) {
          stop = true;
          return;
        }
        n = n.right;
      }
    };
    go(this.root);
  }
}

function removeMin<V>(n: Node<V>): { min: Node<V>; rest: Node<V> | null } {
  if (n.left === null) return { min: n, rest: n.right };
  const r = removeMin(n.left);
  n.left = r.rest;
  return { min: r.min, rest: balance(n) };
}
