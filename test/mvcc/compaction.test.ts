// Compaction (API.md section 5): revision rules, and that physical removal never changes a read
// at or after the compaction revision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompactionResponse, RangeResponse } from '../../src/wire/index.js';
import { MvccError } from '../../src/mvcc/index.js';
import { withFixture, w, op, putReq, delReq, rangeReq, txnReq, show, ZERO, type Fixture } from './helpers.js';

test('fresh store: compaction at 0 (or 1) succeeds; at or below the last compaction is COMPACTED (etcd)', async () => {
  await withFixture(async (f) => {
    assert.equal(await f.fail(w.compact(-1)), 'COMPACTED');
    await f.ok(w.compact(0));
    assert.equal(f.store.compactRevision, 0);
    assert.equal(await f.fail(w.compact(0)), 'COMPACTED');
    await f.ok(w.compact(1));
    assert.equal(await f.fail(w.compact(1)), 'COMPACTED');
    assert.equal(await f.fail(w.compact(2)), 'FUTURE_REV');
    assert.equal(f.store.currentRevision, 1);
  });
  await withFixture(async (f) => {
    await f.ok(w.compact(1));
    assert.equal(f.store.compactRevision, 1);
  });
});

test('D6 compaction beyond the current revision is FUTURE_REV; at it is fine; it never bumps the revision', async () => {
  await withFixture(async (f) => {
    for (let i = 0; i < 5; i++) await f.ok(w.put('k', `${i}`));
    assert.equal(await f.fail(w.compact(7)), 'FUTURE_REV');
    const r = await f.ok<CompactionResponse>(w.compact(6));
    assert.equal(r.header.revision, 6);
    assert.equal(f.store.currentRevision, 6);
    assert.equal(f.store.compactRevision, 6);
    assert.equal(await f.fail(w.compact(5)), 'COMPACTED');
    assert.equal(f.get('k'), 'k=4@2/6/v5');
    assert.deepEqual(f.history(), ['6.0']);
    f.checkInvariants();
  });
});

/** Every read the store can answer at revisions from..to, as text. */
function snapshotReads(f: Fixture, from: number, to: number): string[] {
  const out: string[] = [];
  for (let rev = from; rev <= to; rev++) {
    const r: RangeResponse = f.store.range(rangeReq('\0', { end: ZERO, revision: rev }));
    out.push(`${rev}: ${r.kvs.map(show).join(' ')} (${r.count})`);
  }
  return out;
}

test('physical compaction removes superseded history and tombstones but no read at or after it changes', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1')); // 2
    await f.ok(w.put('b', '1')); // 3
    await f.ok(w.put('a', '2')); // 4
    await f.ok(w.del('b')); // 5
    await f.ok(w.txn(txnReq([], [op.put(putReq('c', '1')), op.put(putReq('a', '3')), op.del(delReq('zzz'))]))); // 6
    await f.ok(w.put('b', '2')); // 7
    await f.ok(w.del('a', 'c')); // 8: deletes a and b
    await f.ok(w.put('a', '4')); // 9
    const current = f.store.currentRevision;
    for (const c of [3, 5, 6, 8, 9]) {
      const before = snapshotReads(f, c, current);
      await f.ok(w.compact(c));
      assert.deepEqual(snapshotReads(f, c, current), before, `reads after compaction at ${c}`);
      assert.throws(() => f.store.range(rangeReq('a', { revision: c - 1 })), (e: unknown) => e instanceof MvccError && e.code === 'COMPACTED');
      f.checkInvariants();
    }
    // Only what the current state needs is left: c@6.0 and a@9.0.
    assert.deepEqual(f.history(), ['6.0', '9.0']);
    assert.deepEqual(f.index(), ['a@9.0', 'c@6.0']);
  });
});

test('a hot key with a long history is bounded after compaction; historical reads of it seek, not scan', async () => {
  await withFixture(async (f) => {
    const batch = Array.from({ length: 500 }, (_, i) => w.put('hot', `${i}`));
    await f.batch(batch);
    await f.ok(w.put('cold', 'x'));
    assert.equal(f.get('hot', 251), 'hot=249@2/251/v250');
    assert.equal(f.keys('a', 'z', { revision: 300 }).join(), 'hot');
    await f.ok(w.compact(400));
    assert.equal(f.history().length, 103); // hot@400..501 (400 is the latest at 400) and cold@502
    assert.equal(f.get('hot', 400), 'hot=398@2/400/v399');
    f.checkInvariants();
  });
});

test('compaction survives reopen; entries after it still compact incrementally', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', '1'));
    await f.ok(w.put('k', '2'));
    await f.ok(w.compact(3));
    await f.reopen();
    assert.equal(f.store.compactRevision, 3);
    assert.throws(() => f.store.range(rangeReq('k', { revision: 2 })), MvccError);
    await f.ok(w.put('k', '3'));
    await f.ok(w.put('j', '1'));
    await f.ok(w.compact(5));
    assert.deepEqual(f.index(), ['j@5.0', 'k@4.0']);
    f.checkInvariants();
  });
});

test('a tombstone at exactly the compaction revision stays in history (a watch from there sees the delete) until the next compaction', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', '1')); // 2
    await f.ok(w.put('j', '1')); // 3
    await f.ok(w.del('k')); // 4
    await f.ok(w.compact(4));
    assert.deepEqual(f.history(), ['3.0', '4.0']);
    assert.deepEqual(f.index(), ['j@3.0', 'k@4.0t']);
    assert.equal(f.get('k', 4), '-');
    await f.ok(w.put('j', '2')); // 5
    await f.ok(w.compact(5));
    assert.deepEqual(f.index(), ['j@5.0']);
    f.checkInvariants();
  });
});
