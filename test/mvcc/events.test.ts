// KvStore.changes: history read back for watch catch-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccError } from '../../src/mvcc/index.js';
import { withFixture, w, op, putReq, txnReq, show } from './helpers.js';

const brief = (page: { events: { type: string; kv: Parameters<typeof show>[0]; prevKv: Parameters<typeof show>[0] }[] }): string[] =>
  page.events.map((e) => `${e.type} ${show(e.kv)} prev ${show(e.prevKv)}`);

test('changes replays the events apply produced, with prevKv on request', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1')); // 2
    await f.ok(w.txn(txnReq([], [op.put(putReq('a', '2')), op.put(putReq('b', '1'))]))); // 3
    await f.ok(w.del('a', 'z')); // 4
    assert.deepEqual(brief(f.store.changes(1, { prevKv: true })), [
      'put a=1@2/2/v1 prev -',
      'put a=2@2/3/v2 prev a=1@2/2/v1',
      'put b=1@3/3/v1 prev -',
      'delete a=@0/4/v0 prev a=2@2/3/v2',
      'delete b=@0/4/v0 prev b=1@3/3/v1',
    ]);
    assert.deepEqual(brief(f.store.changes(3)), ['put a=2@2/3/v2 prev -', 'put b=1@3/3/v1 prev -', 'delete a=@0/4/v0 prev -', 'delete b=@0/4/v0 prev -']);
    assert.equal(f.store.changes(1).nextRevision, 5);
  });
});

test('pages stop at a revision boundary after the limit and never split a revision', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1')); // 2
    await f.ok(w.txn(txnReq([], [op.put(putReq('b', '1')), op.put(putReq('c', '1')), op.put(putReq('d', '1'))]))); // 3
    await f.ok(w.put('e', '1')); // 4
    const p1 = f.store.changes(2, { limit: 2 });
    assert.deepEqual(p1.events.map((e) => e.kv.modRevision), [2, 3, 3, 3]);
    assert.equal(p1.nextRevision, 4);
    const p2 = f.store.changes(p1.nextRevision, { limit: 2 });
    assert.deepEqual(p2.events.map((e) => e.kv.modRevision), [4]);
    assert.equal(p2.nextRevision, 5);
    const p3 = f.store.changes(5);
    assert.deepEqual(p3, { events: [], nextRevision: 5 });
    assert.deepEqual(f.store.changes(9), { events: [], nextRevision: 9 });
  });
});

test('after compaction at C: below C is COMPACTED; from C the delete at C is still delivered', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', '1')); // 2
    await f.ok(w.put('j', '1')); // 3
    await f.ok(w.del('k')); // 4
    await f.ok(w.put('j', '2')); // 5
    await f.ok(w.compact(4));
    assert.throws(() => f.store.changes(3), (e: unknown) => e instanceof MvccError && e.code === 'COMPACTED');
    assert.deepEqual(brief(f.store.changes(4, { prevKv: true })), [
      'delete k=@0/4/v0 prev -', // its previous value was compacted away
      'put j=2@3/5/v2 prev j=1@3/3/v1',
    ]);
    assert.throws(() => f.store.changes(0), TypeError);
  });
});
