// Txn semantics (API.md section 5). "etcd" marks results observed against etcd 3.4.23.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Compare, CompareOperand, RequestOp, ResponseOp, TxnResponse } from '../../src/wire/index.js';
import { withFixture, w, op, cmp, putReq, delReq, rangeReq, txnReq, show, enc, ZERO, type Fixture } from './helpers.js';

const T = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
const R = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;

async function holds(f: Fixture, ...compares: Compare[]): Promise<boolean> {
  return (await f.ok<TxnResponse>(w.txn(txnReq(compares, [])))).succeeded;
}

/** A compact view of a txn response: op kind, header revision and the interesting fields. */
function summary(resps: ResponseOp[]): unknown[] {
  return resps.map((r) => {
    switch (r.type) {
      case 'range':
        return ['range', r.range.header.revision, r.range.kvs.map(show)];
      case 'put':
        return ['put', r.put.header.revision, show(r.put.prevKv)];
      case 'deleteRange':
        return ['del', r.deleteRange.header.revision, r.deleteRange.deleted];
      case 'txn':
        return ['txn', r.txn.header.revision, r.txn.succeeded, summary(r.txn.responses)];
    }
  });
}

test('compare targets and results on an existing key', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', 'v1', { lease: 7n })); // 2
    await f.ok(w.put('k', 'v2', { lease: 7n })); // 3: create 2, mod 3, version 2
    const c = (target: Compare['target'], result: Compare['result'], operand: CompareOperand): Compare => cmp('k', target, result, operand);
    assert.equal(await holds(f, c(T.VERSION, R.EQUAL, { kind: 'version', version: 2 })), true);
    assert.equal(await holds(f, c(T.VERSION, R.GREATER, { kind: 'version', version: 1 })), true);
    assert.equal(await holds(f, c(T.VERSION, R.LESS, { kind: 'version', version: 2 })), false);
    assert.equal(await holds(f, c(T.VERSION, R.NOT_EQUAL, { kind: 'version', version: 3 })), true);
    assert.equal(await holds(f, c(T.CREATE, R.EQUAL, { kind: 'createRevision', createRevision: 2 })), true);
    assert.equal(await holds(f, c(T.CREATE, R.GREATER, { kind: 'createRevision', createRevision: 2 })), false);
    assert.equal(await holds(f, c(T.MOD, R.EQUAL, { kind: 'modRevision', modRevision: 3 })), true);
    assert.equal(await holds(f, c(T.MOD, R.LESS, { kind: 'modRevision', modRevision: 4 })), true);
    assert.equal(await holds(f, c(T.VALUE, R.EQUAL, { kind: 'value', value: enc('v2') })), true);
    assert.equal(await holds(f, c(T.VALUE, R.GREATER, { kind: 'value', value: enc('v1') })), true);
    assert.equal(await holds(f, c(T.VALUE, R.LESS, { kind: 'value', value: enc('v2\0') })), true);
    assert.equal(await holds(f, c(T.LEASE, R.EQUAL, { kind: 'lease', lease: 7n })), true);
    assert.equal(await holds(f, c(T.LEASE, R.GREATER, { kind: 'lease', lease: -1n })), true);
    assert.equal(await holds(f, c(T.LEASE, R.LESS, { kind: 'lease', lease: 2n ** 62n })), true);
    // All compares must hold.
    assert.equal(await holds(f, c(T.VERSION, R.EQUAL, { kind: 'version', version: 2 }), c(T.MOD, R.EQUAL, { kind: 'modRevision', modRevision: 2 })), false);
    // Compares never bump the revision.
    assert.equal(f.store.currentRevision, 3);
  });
});

test('operand of another kind than the target compares the target against zero (etcd)', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', 'x'));
    // etcd: target MOD, result GREATER, operand version=100 → mod > 0 → succeeds
    assert.equal(await holds(f, cmp('a', T.MOD, R.GREATER, { kind: 'version', version: 100 })), true);
    assert.equal(await holds(f, cmp('a', T.VALUE, R.GREATER, { kind: 'modRevision', modRevision: 5 })), true);
    assert.equal(await holds(f, cmp('a', T.VERSION, R.EQUAL, { kind: 'none' })), false);
    assert.equal(await holds(f, cmp('a', T.LEASE, R.EQUAL, { kind: 'value', value: enc('zz') })), true);
  });
});

test('a missing key compares as an all-zero KeyValue, except VALUE which never holds (etcd)', async () => {
  await withFixture(async (f) => {
    assert.equal(await holds(f, cmp('nokey', T.VERSION, R.EQUAL, { kind: 'version', version: 0 })), true);
    assert.equal(await holds(f, cmp('nokey', T.CREATE, R.EQUAL, { kind: 'createRevision', createRevision: 0 })), true);
    assert.equal(await holds(f, cmp('nokey', T.MOD, R.LESS, { kind: 'modRevision', modRevision: 1 })), true);
    assert.equal(await holds(f, cmp('nokey', T.LEASE, R.EQUAL, { kind: 'lease', lease: 0n })), true);
    assert.equal(await holds(f, cmp('nokey', T.VALUE, R.EQUAL, { kind: 'value', value: new Uint8Array(0) })), false);
    // etcd: VALUE NOT_EQUAL "x" on a missing key fails too.
    assert.equal(await holds(f, cmp('nokey', T.VALUE, R.NOT_EQUAL, { kind: 'value', value: enc('x') })), false);
  });
});

test('a compare with range_end must hold for every key in the range; an empty range compares as zero', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('p/1', 'x'));
    await f.ok(w.put('p/2', 'x'));
    await f.ok(w.put('p/2', 'y'));
    assert.equal(await holds(f, cmp('p/', T.VERSION, R.GREATER, { kind: 'version', version: 0 }, 'p0')), true);
    assert.equal(await holds(f, cmp('p/', T.VERSION, R.EQUAL, { kind: 'version', version: 1 }, 'p0')), false);
    assert.equal(await holds(f, cmp('p/', T.VALUE, R.EQUAL, { kind: 'value', value: enc('x') }, 'p0')), false);
    assert.equal(await holds(f, cmp('p/', T.MOD, R.LESS, { kind: 'modRevision', modRevision: 5 }, 'p0')), true);
    assert.equal(await holds(f, cmp('a', T.VERSION, R.GREATER, { kind: 'version', version: 0 }, ZERO)), true);
    assert.equal(await holds(f, cmp('q/', T.VERSION, R.EQUAL, { kind: 'version', version: 0 }, 'q0')), true);
    assert.equal(await holds(f, cmp('q/', T.VALUE, R.NOT_EQUAL, { kind: 'value', value: enc('x') }, 'q0')), false);
    assert.equal(await holds(f, cmp('z', T.VERSION, R.EQUAL, { kind: 'version', version: 0 }, 'a')), true); // end <= key: empty
  });
});

test('success and failure branches; an empty txn succeeds without a revision bump', async () => {
  await withFixture(async (f) => {
    const empty = await f.ok<TxnResponse>(w.txn(txnReq([], [])));
    assert.deepEqual({ ok: empty.succeeded, rev: empty.header.revision, n: empty.responses.length }, { ok: true, rev: 1, n: 0 });
    const guard = cmp('lock', T.CREATE, R.EQUAL, { kind: 'createRevision', createRevision: 0 });
    const first = await f.ok<TxnResponse>(w.txn(txnReq([guard], [op.put(putReq('lock', 'me'))], [op.range(rangeReq('lock'))])));
    assert.equal(first.succeeded, true);
    assert.deepEqual(summary(first.responses), [['put', 2, '-']]);
    const second = await f.ok<TxnResponse>(w.txn(txnReq([guard], [op.put(putReq('lock', 'other'))], [op.range(rangeReq('lock'))])));
    assert.equal(second.succeeded, false);
    assert.deepEqual(summary(second.responses), [['range', 2, ['lock=me@2/2/v1']]]);
    assert.equal(second.header.revision, 2);
  });
});

test('all writes of a txn share one revision with sub-revisions in op order; later ops see earlier writes', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1')); // 2
    await f.ok(w.put('gone', 'x')); // 3
    const ops: RequestOp[] = [
      op.range(rangeReq('a')),
      op.put(putReq('a', '2', { prevKv: true })),
      op.range(rangeReq('a')),
      op.del(delReq('gone')),
      op.range(rangeReq('\0', { end: ZERO, keysOnly: true })),
      op.put(putReq('b', 'new')),
    ];
    const r = await f.ok<TxnResponse>(w.txn(txnReq([], ops)));
    assert.equal(r.header.revision, 4);
    assert.deepEqual(summary(r.responses), [
      ['range', 3, ['a=1@2/2/v1']], // before any write: the old revision (etcd)
      ['put', 4, 'a=1@2/2/v1'],
      ['range', 4, ['a=2@2/4/v2']],
      ['del', 4, 1],
      ['range', 4, ['a=@2/4/v2']],
      ['put', 4, '-'],
    ]);
    assert.deepEqual(f.index().filter((e) => e.includes('@4.')), ['a@4.0', 'b@4.2', 'gone@4.1t']);
    const events = (await f.batch([w.txn(txnReq([], [op.put(putReq('x', '1')), op.del(delReq('a')), op.put(putReq('y', '1'))]))])).events[0]!;
    assert.deepEqual(events.map((e) => `${e.type} ${show(e.kv)}`), ['put x=1@5/5/v1', 'delete a=@0/5/v0', 'put y=1@5/5/v1']);
    f.checkInvariants();
  });
});

test('etcd: headers of ranges and empty deletes are the old revision until the txn has written something', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1')); // 2
    const ops = [op.range(rangeReq('a')), op.del(delReq('zz')), op.put(putReq('c', '1')), op.del(delReq('zz')), op.range(rangeReq('c'))];
    const r = await f.ok<TxnResponse>(w.txn(txnReq([], ops)));
    assert.deepEqual(
      summary(r.responses).map((s) => (s as unknown[]).slice(0, 2)),
      [['range', 2], ['del', 2], ['put', 3], ['del', 3], ['range', 3]],
    );
  });
});

test('read-only txns and txns that delete nothing do not bump the revision', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1'));
    const ro = await f.ok<TxnResponse>(w.txn(txnReq([], [op.range(rangeReq('a')), op.del(delReq('nothing'))])));
    assert.equal(ro.header.revision, 2);
    assert.equal(f.store.currentRevision, 2);
    const ev = (await f.batch([w.txn(txnReq([], [op.range(rangeReq('a'))]))])).events[0]!;
    assert.deepEqual(ev, []);
  });
});

test('nested txns: their compares see the state before the outer txn (etcd), their header is all zero', async () => {
  await withFixture(async (f) => {
    const nested = txnReq(
      [cmp('a', T.VALUE, R.EQUAL, { kind: 'value', value: enc('1') })],
      [op.put(putReq('b', 'yes'))],
      [op.put(putReq('b', 'no'))],
    );
    const r = await f.ok<TxnResponse>(w.txn(txnReq([], [op.put(putReq('a', '1')), op.txn(nested)])));
    assert.deepEqual(summary(r.responses), [
      ['put', 2, '-'],
      ['txn', 0, false, [['put', 2, '-']]],
    ]);
    const inner = r.responses[1]!;
    assert.ok(inner.type === 'txn');
    assert.deepEqual(inner.txn.header, { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 });
    assert.equal(f.get('b'), 'b=no@2/2/v1'); // etcd: "no"
    assert.equal(f.store.currentRevision, 2);
    // Deeper nesting, both branches, ranges inside see earlier writes.
    const deep = txnReq([], [op.txn(txnReq([cmp('b', T.VERSION, R.EQUAL, { kind: 'version', version: 1 })], [op.txn(txnReq([], [op.put(putReq('c', '1')), op.range(rangeReq('c'))]))]))]);
    const d = await f.ok<TxnResponse>(w.txn(deep));
    assert.deepEqual(summary(d.responses), [['txn', 0, true, [['txn', 0, true, [['put', 3, '-'], ['range', 3, ['c=1@3/3/v1']]]]]]]);
  });
});

test('a txn range at a future or compacted revision fails the whole txn; nothing is written', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('c', '1')); // 2
    await f.ok(w.put('c', '2')); // 3
    // etcd: [put c, range c @ rev 5] at revision 3 → future revision, c unchanged
    assert.equal(await f.fail(w.txn(txnReq([], [op.put(putReq('c', '3')), op.range(rangeReq('c', { revision: 5 }))]))), 'FUTURE_REV');
    // The revision the txn itself would create is also in the future.
    assert.equal(await f.fail(w.txn(txnReq([], [op.put(putReq('c', '3')), op.range(rangeReq('c', { revision: 4 }))]))), 'FUTURE_REV');
    assert.equal(f.get('c'), 'c=2@2/3/v2');
    assert.equal(f.store.currentRevision, 3);
    await f.ok(w.compact(3));
    assert.equal(await f.fail(w.txn(txnReq([], [op.put(putReq('d', '1')), op.range(rangeReq('c', { revision: 2 }))]))), 'COMPACTED');
    assert.equal(f.get('d'), '-');
    // A historical range inside a writing txn reads history, not the txn's writes.
    const r = await f.ok<TxnResponse>(w.txn(txnReq([], [op.put(putReq('c', '9')), op.range(rangeReq('c', { revision: 3 }))])));
    assert.deepEqual(summary(r.responses), [['put', 4, '-'], ['range', 4, ['c=2@2/3/v2']]]);
    // etcd 3.4 quirk: inside a txn a negative revision below the compact revision is COMPACTED
    // (a top-level range reads it as "current").
    assert.equal(await f.fail(w.txn(txnReq([], [op.range(rangeReq('c', { revision: -1 }))]))), 'COMPACTED');
    assert.equal(f.store.range(rangeReq('c', { revision: -1 })).kvs.length, 1);
    // Only the branch that runs is checked.
    const skipped = await f.ok<TxnResponse>(w.txn(txnReq([], [op.range(rangeReq('c'))], [op.range(rangeReq('c', { revision: 99 }))])));
    assert.equal(skipped.succeeded, true);
    f.checkInvariants();
  });
});

test('ignore_value on a missing key inside a txn fails the whole txn (KEY_NOT_FOUND) with nothing written', async () => {
  await withFixture(async (f) => {
    const bad = txnReq([], [op.put(putReq('a', '1')), op.txn(txnReq([], [op.put(putReq('nokey', '', { ignoreValue: true }))]))]);
    assert.equal(await f.fail(w.txn(bad)), 'KEY_NOT_FOUND');
    assert.equal(f.get('a'), '-');
    assert.deepEqual(f.history(), []);
    assert.equal(f.store.currentRevision, 1);
    // In the branch not taken it does not matter.
    const fine = txnReq([cmp('a', T.VERSION, R.EQUAL, { kind: 'version', version: 0 })], [op.put(putReq('a', '1'))], [op.put(putReq('nokey', '', { ignoreLease: true }))]);
    assert.equal((await f.ok<TxnResponse>(w.txn(fine))).succeeded, true);
    // ignore_value on a key that exists keeps its value inside a txn.
    await f.ok(w.txn(txnReq([], [op.put(putReq('a', '', { ignoreValue: true, prevKv: true }))])));
    assert.equal(f.get('a'), 'a=1@2/3/v2');
  });
});

test('txn validation runs at apply: duplicates, {} ops, too many ops (with the configured limit)', async () => {
  await withFixture(
    async (f) => {
      assert.equal(await f.fail(w.txn(txnReq([], [op.put(putReq('a', '1')), op.put(putReq('a', '2'))]))), 'DUPLICATE_KEY');
      assert.equal(await f.fail(w.txn(txnReq([], [op.none()]))), 'KEY_NOT_FOUND');
      const four = [0, 1, 2, 3].map((i) => op.range(rangeReq(`k${i}`)));
      assert.equal(await f.fail(w.txn(txnReq([], four))), 'TOO_MANY_OPS');
      assert.equal((await f.ok<TxnResponse>(w.txn(txnReq([], four.slice(1))))).succeeded, true);
      assert.equal(f.store.currentRevision, 1);
      assert.equal(f.store.appliedIndex, 4);
    },
    { maxTxnOps: 3 },
  );
});

test('etcd quirk: a txn range at revision -1 works on a fresh store, below -1 it is COMPACTED', async () => {
  await withFixture(async (f) => {
    assert.equal((await f.ok<TxnResponse>(w.txn(txnReq([], [op.range(rangeReq('a', { revision: -1 }))])))).succeeded, true);
    assert.equal(await f.fail(w.txn(txnReq([], [op.range(rangeReq('a', { revision: -2 }))]))), 'COMPACTED');
  });
});
