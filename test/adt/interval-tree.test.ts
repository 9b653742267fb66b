// The interval tree against a brute-force model (a plain list) over seeded random operations, with
// the tree's invariants checked after every step. A failure names its seed; rerun one seed with
// ADT_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IntervalTree,
  compareIntervals,
  containsPoint,
  intervalsOverlap,
  keyRangeInterval,
  successor,
  type Interval,
} from '../../src/adt/index.js';
import { mulberry32 } from '../harness/prng.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const show = (i: Interval): string => `[${JSON.stringify(Buffer.from(i.start).toString('latin1'))}, ${i.end === null ? '∞' : JSON.stringify(Buffer.from(i.end).toString('latin1'))})`;


test('etcd (key, range_end) conventions', () => {
  assert.equal(show(keyRangeInterval(b('k'), b(''))!), '["k", "k\\u0000")');
  assert.equal(show(keyRangeInterval(b('k'), b('\0'))!), '["k", ∞)');
  assert.equal(show(keyRangeInterval(b('a'), b('c'))!), '["a", "c")');
  assert.equal(keyRangeInterval(b('c'), b('a')), undefined);
  assert.equal(keyRangeInterval(b('c'), b('c')), undefined);
  const single = keyRangeInterval(b('k'), b(''))!;
  assert.ok(containsPoint(single, b('k')));
  assert.ok(!containsPoint(single, b('k\0')) && !containsPoint(single, b('j\xff')));
});

test('the worked example of the file header', () => {
  const t = new IntervalTree<string>();
  for (const [s, e] of [['a', 'c'], ['a', 'b'], ['c', null], ['b', 'b\0']] as const) t.set({ start: b(s), end: e === null ? null : b(e) }, `${s}-${e}`);
  t.checkInvariants();
  assert.deepEqual(t.stabbing(b('b')).map(([, v]) => v), ['a-c', 'b-b\0']);
  assert.deepEqual(t.stabbing(b('a')).map(([, v]) => v), ['a-b', 'a-c']);
  assert.deepEqual(t.stabbing(b('zzz')).map(([, v]) => v), ['c-null']);
  assert.deepEqual(t.stabbing(b('')).map(([, v]) => v), []);
});

test('set replaces an equal interval; empty intervals are refused; delete reports presence', () => {
  const t = new IntervalTree<number>();
  t.set({ start: b('a'), end: b('b') }, 1);
  t.set({ start: b('a'), end: b('b') }, 2);
  assert.equal(t.size, 1);
  assert.equal(t.get({ start: b('a'), end: b('b') }), 2);
  assert.throws(() => t.set({ start: b('b'), end: b('a') }, 3), TypeError);
  assert.throws(() => t.set({ start: b('b'), end: b('b') }, 3), TypeError);
  assert.equal(t.delete({ start: b('a'), end: null }), false);
  assert.equal(t.delete({ start: b('a'), end: b('b') }), true);
  assert.equal(t.size, 0);
  assert.deepEqual(t.overlapping({ start: b('a'), end: b('a') }), []);
});

// A small alphabet so that random intervals collide, nest and share endpoints often.
const ALPHABET = [0x00, 0x01, 0x61, 0x62, 0xff];
function randomBytes(r: () => number, maxLen = 3): Uint8Array {
  const n = Math.floor(r() * (maxLen + 1));
  return Uint8Array.from({ length: n }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]!);
}
function randomInterval(r: () => number): Interval {
  for (;;) {
    const start = randomBytes(r);
    const k = r();
    const ivl: Interval = k < 0.2 ? { start, end: null } : k < 0.4 ? { start, end: successor(start) } : { start, end: randomBytes(r) };
    if (ivl.end === null || Buffer.compare(ivl.end, ivl.start) > 0) return ivl;
  }
}

function runSeed(seed: number, steps: number): void {
  const r = mulberry32(seed);
  const tree = new IntervalTree<number>();
  let model: { ivl: Interval; value: number }[] = [];
  const sorted = (xs: [Interval, number][]): string[] => xs.map(([i, v]) => `${show(i)}=${v}`);
  const expect = (pred: (i: Interval) => boolean): string[] =>
    sorted(model.filter((e) => pred(e.ivl)).sort((x, y) => compareIntervals(x.ivl, y.ivl)).map((e) => [e.ivl, e.value]));
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} step ${step}`;
    const op = r();
    if (op < 0.45) {
      const ivl = randomInterval(r);
      const value = step;
      tree.set(ivl, value);
      model = model.filter((e) => compareIntervals(e.ivl, ivl) !== 0);
      model.push({ ivl, value });
    } else if (op < 0.7) {
      // Delete a stored interval most of the time, a random (probably absent) one otherwise.
      const ivl = model.length > 0 && r() < 0.8 ? model[Math.floor(r() * model.length)]!.ivl : randomInterval(r);
      const had = model.some((e) => compareIntervals(e.ivl, ivl) === 0);
      // A fresh copy, so the tree must compare by content, not by identity.
      assert.equal(tree.delete({ start: ivl.start.slice(), end: ivl.end === null ? null : ivl.end.slice() }), had, where);
      model = model.filter((e) => compareIntervals(e.ivl, ivl) !== 0);
    } else if (op < 0.85) {
      const p = randomBytes(r, 4);
      assert.deepEqual(sorted(tree.stabbing(p)), expect((i) => containsPoint(i, p)), `${where}: stab ${JSON.stringify([...p])}`);
    } else {
      const q = randomInterval(r);
      assert.deepEqual(sorted(tree.overlapping(q)), expect((i) => intervalsOverlap(i, q)), `${where}: overlap ${show(q)}`);
      assert.equal(tree.intersects(q), model.some((e) => intervalsOverlap(e.ivl, q)), where);
    }
    assert.equal(tree.size, model.length, where);
    try {
      tree.checkInvariants();
    } catch (e) {
      assert.fail(`${where}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(sorted([...tree.entries()]), expect(() => true), `seed ${seed}: entries`);
  for (const e of model) assert.equal(tree.get(e.ivl), e.value, `seed ${seed}: get ${show(e.ivl)}`);
}

test('random operations agree with a brute-force model (seeded)', () => {
  const only = process.env['ADT_SEED'];
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: 40 }, (_, i) => i + 1);
  for (const seed of seeds) runSeed(seed, 600);
});

test('stays balanced under sorted inserts and deletes (height <= 1.45 log2(n+2))', () => {
  const t = new IntervalTree<number>();
  const key = (i: number): Uint8Array => b(i.toString(36).padStart(4, '0'));
  const n = 20_000;
  for (let i = 0; i < n; i++) t.set({ start: key(i), end: null }, i);
  const bound = (m: number): number => 1.45 * Math.log2(m + 2);
  const h = (t as unknown as { root: { height: number } }).root.height; // white-box: the AVL height
  assert.ok(h <= bound(n), `height ${h} for ${n}`);
  t.checkInvariants();
  // Every interval is [key(i), ∞), so a stab at key(i) finds exactly i+1 of them.
  assert.equal(t.stabbing(key(999)).length, 1000);
  for (let i = 0; i < n; i += 2) t.delete({ start: key(i), end: null });
  t.checkInvariants();
  assert.equal(t.size, n / 2);
  assert.equal(t.stabbing(key(999)).length, 500);
});
