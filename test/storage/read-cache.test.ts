import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCache } from '../../src/storage/index.js';

// The cache's rule on its own: filled only while no write is pending, dropped on every write,
// committed() or invalidate(), misses bounded.

test('hits between writes; a write bypasses the cache until committed()', () => {
  const c = new ReadCache();
  const get = c.map<string, number>();
  let loads = 0;
  const load = (v: number) => () => (loads++, v);
  assert.equal(get('a', load(1)), 1);
  assert.equal(get('a', load(2)), 1, 'cached');
  assert.equal(loads, 1);
  c.wrote();
  assert.equal(get('a', load(3)), 3, 'read through while the write is pending');
  assert.equal(get('a', load(4)), 4, 'and not filled');
  c.committed();
  assert.equal(get('a', load(5)), 5);
  assert.equal(get('a', load(6)), 5, 'cached again');
  c.invalidate();
  assert.equal(get('a', load(7)), 7);
});

test('absent keys are remembered up to the bound; writeEpoch counts every change', () => {
  const c = new ReadCache();
  const get = c.map<number, string>(2);
  let loads = 0;
  const none = (): undefined => void loads++;
  for (const k of [1, 2, 3, 1, 2, 3]) get(k, none);
  assert.equal(loads, 4, '1 and 2 remembered as absent, 3 read each time');
  const e = c.writeEpoch();
  c.wrote();
  c.committed();
  c.invalidate();
  assert.equal(c.writeEpoch(), e + 3);
});

test('committed(upTo) with a later write still pending keeps bypassing: pipelined batches announce their commits late', () => {
  const c = new ReadCache();
  const get = c.map<string, number>();
  let loads = 0;
  const load = (v: number) => () => (loads++, v);
  c.wrote(); // batch 1 stages its writes
  const mark1 = c.writeEpoch();
  c.wrote(); // batch 2 stages before batch 1's commit is announced
  const mark2 = c.writeEpoch();
  c.committed(mark1);
  assert.equal(get('a', load(1)), 1);
  assert.equal(get('a', load(2)), 2, 'batch 2 may still be uncommitted: not cached');
  c.committed(mark2);
  assert.equal(get('a', load(3)), 3);
  assert.equal(get('a', load(4)), 3, 'every write announced: cached again');
  assert.equal(loads, 3);
});
