// Automatic compaction decisions (src/server/compactor.ts), with the clock as an input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoCompactor, REVISION_CHECK_MS, parseAutoCompaction } from '../../src/server/compactor.js';

const H = 3_600_000;
const MIN = 60_000;

test('retention flags parse as etcd reads them: hours or a duration in periodic mode, revisions in revision mode, 0 is off', () => {
  assert.deepEqual(parseAutoCompaction('periodic', '1'), { mode: 'periodic', retention: H });
  assert.deepEqual(parseAutoCompaction('periodic', '72'), { mode: 'periodic', retention: 72 * H });
  assert.deepEqual(parseAutoCompaction('periodic', '30m'), { mode: 'periodic', retention: 30 * MIN });
  assert.deepEqual(parseAutoCompaction('periodic', '1h30m'), { mode: 'periodic', retention: 90 * MIN });
  assert.deepEqual(parseAutoCompaction('periodic', '1.5h'), { mode: 'periodic', retention: 90 * MIN });
  assert.deepEqual(parseAutoCompaction('periodic', '5s'), { mode: 'periodic', retention: 5000 });
  assert.deepEqual(parseAutoCompaction('revision', '1000'), { mode: 'revision', retention: 1000 });
  assert.equal(parseAutoCompaction('periodic', '0'), undefined);
  assert.equal(parseAutoCompaction('revision', '0'), undefined);
  assert.equal(parseAutoCompaction('periodic', '0s'), undefined);
  for (const bad of ['-1', 'abc', '1d', '1h 30m', '1x', '5m3']) assert.throws(() => parseAutoCompaction('periodic', bad), RangeError, bad);
  for (const bad of ['1h', '-5', '1.5', '9007199254740993']) assert.throws(() => parseAutoCompaction('revision', bad), RangeError, bad);
  assert.throws(() => parseAutoCompaction('hourly', '1'), /unknown auto-compaction mode/);
});

test('revision mode: every 5 minutes the leader compacts at current - retention, only forward', () => {
  const c = new AutoCompactor({ mode: 'revision', retention: 100 }, 0);
  assert.equal(c.tickMs, REVISION_CHECK_MS);
  assert.equal(c.tick(REVISION_CHECK_MS, 50, -1, true), undefined, 'not yet 100 revisions');
  assert.equal(c.tick(2 * REVISION_CHECK_MS, 350, -1, true), 250);
  assert.equal(c.tick(3 * REVISION_CHECK_MS, 350, 250, true), undefined, 'nothing new');
  assert.equal(c.tick(4 * REVISION_CHECK_MS, 900, 250, false), undefined, 'a follower never compacts');
  assert.equal(c.tick(5 * REVISION_CHECK_MS, 900, 250, true), 800);
});

test('periodic mode: compacts at the revision current one retention ago, every min(retention, 1 h)', () => {
  const R = 10 * MIN;
  const c = new AutoCompactor({ mode: 'periodic', retention: R }, 0);
  assert.equal(c.tickMs, R / 10);
  const revAt = (t: number): number => 1 + Math.floor(t / MIN) * 10; // 10 revisions a minute
  const compactions: Array<[number, number]> = [];
  let compacted = -1;
  for (let t = c.tickMs; t <= 45 * MIN; t += c.tickMs) {
    const target = c.tick(t, revAt(t), compacted, true);
    if (target !== undefined) {
      compactions.push([t / MIN, target]);
      compacted = target;
    }
  }
  // The first sample is taken one step (1 min) after start, so the first compaction comes once it
  // is a retention old, at 11 min; then every 10 min, each at the revision of the newest sample
  // at least 10 min old.
  assert.deepEqual(compactions, [
    [11, revAt(1 * MIN)],
    [21, revAt(11 * MIN)],
    [31, revAt(21 * MIN)],
    [41, revAt(31 * MIN)],
  ]);
});

test('periodic mode with a long retention checks hourly and keeps at least the retention', () => {
  const R = 5 * H;
  const c = new AutoCompactor({ mode: 'periodic', retention: R }, 0);
  let compacted = -1;
  const at: number[] = [];
  for (let t = c.tickMs; t <= 8 * H; t += c.tickMs) {
    const target = c.tick(t, Math.floor(t / 1000), compacted, true);
    if (target !== undefined) {
      // What is kept is everything written in the last R at least.
      assert.ok(Math.floor(t / 1000) - target >= R / 1000, `kept ${Math.floor(t / 1000) - target} s of history at ${t / H} h`);
      compacted = target;
      at.push(t / H);
    }
  }
  // The first sample (at 0.5 h) is a retention old at 5.5 h; then hourly.
  assert.deepEqual(at, [5.5, 6.5, 7.5]);
});
