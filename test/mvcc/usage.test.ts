// The storage-accounting hook (mvcc/external.ts UsageObserver): every key change of an entry is
// reported with its value lengths before and after; an entry the session refuses after executing
// is undone completely (keys, history, index, lease attachments, events, revision) while the batch
// goes on; external changes may delete a whole range at one revision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, type ExternalRejection, type ObservedRequest, type UsageObserver, type UsageSession } from '../../src/mvcc/index.js';
import { LeaseTable } from '../../src/lease/index.js';
import type { WriteTxn } from '../../src/storage/index.js';
import { Fixture, checkInvariants, dec, enc, op, putReq, txnReq, w } from './helpers.js';

class Refused extends Error implements ExternalRejection {
  readonly code = 'QUOTA';
}

/**
 * A tiny accounting rule of its own, standing in for the tenants' one: keys under "q/" are counted,
 * at most `max` of them. It records every reported change for the assertions.
 */
class CountingObserver implements UsageObserver {
  live = 0;
  readonly seen: string[] = [];
  begins: ObservedRequest['type'][] = [];
  constructor(readonly max: number) {}
  begin(request: ObservedRequest): UsageSession | undefined {
    this.begins.push(request.type);
    if (request.type === 'compaction') return undefined;
    let delta = 0;
    const self = this;
    return {
      mayRefuse: request.type !== 'external',
      keyChanged(key: Uint8Array, before: number | undefined, after: number | undefined): void {
        const k = dec(key);
        self.seen.push(`${k}:${before ?? '-'}>${after ?? '-'}`);
        if (!k.startsWith('q/')) return;
        delta += (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
      },
      finish(_txn: WriteTxn): ExternalRejection | undefined {
        if (delta > 0 && self.live + delta > self.max) return new Refused('over');
        self.live += delta;
        return undefined;
      },
    };
  }
}

async function withObserved(max: number, fn: (f: Fixture, o: CountingObserver, leases: LeaseTable) => Promise<void>): Promise<void> {
  const o = new CountingObserver(max);
  const f = new Fixture({ usage: o });
  try {
    // The lease table lives in the fixture's storage: the store is made again with it.
    const leases = new LeaseTable(f.storage);
    await f.store.close();
    f.store = KvStore.inStorage(f.storage, { usage: o, leases });
    await fn(f, o, leases);
  } finally {
    await f.close();
  }
}

test('key changes are reported with value lengths before and after: create, overwrite, ignore_value, delete', async () => {
  await withObserved(100, async (f, o) => {
    await f.ok(w.put('q/a', 'xyz'));
    await f.ok(w.put('q/a', 'x'));
    await f.ok(w.put('q/a', '', { ignoreValue: true }));
    await f.ok(w.put('other', 'hello'));
    await f.ok(w.del('q/', 'q0'));
    await f.ok(w.del('nothing'));
    assert.deepEqual(o.seen, ['q/a:->3', 'q/a:3>1', 'q/a:1>1', 'other:->5', 'q/a:1>-']);
    assert.equal(o.live, 0);
  });
});

test('a refused put is undone: no key, no history, no index entry, no event, the revision stays', async () => {
  await withObserved(2, async (f) => {
    await f.ok(w.put('q/1', 'a'));
    await f.ok(w.put('q/2', 'b'));
    const rev = f.store.currentRevision;
    const history = f.history();
    const index = f.index();
    const { results, events } = await f.batch([w.put('q/3', 'c'), w.put('q/1', 'overwrite is fine')]);
    assert.equal(results[0]!.ok, false);
    assert.equal(!results[0]!.ok && !results[0]!.skipped ? results[0]!.error.code : '', 'QUOTA');
    assert.deepEqual(events[0], []);
    // The next entry of the same batch goes on, at the next revision (the refused one took none).
    assert.equal(results[1]!.ok, true);
    assert.equal(f.store.currentRevision, rev + 1);
    assert.equal(f.get('q/3'), '-');
    assert.equal(f.get('q/1'), `q/1=overwrite is fine@${rev - 1}/${rev + 1}/v2`);
    assert.deepEqual(f.history(), [...history, `${rev + 1}.0`]);
    assert.equal(f.index().length, index.length + 1);
    assert.equal(f.store.appliedIndex, f.nextIndex - 1);
    f.checkInvariants();
  });
});

test('a txn that would cross the limit is refused whole, earlier writes of the txn included; one that nets out passes', async () => {
  await withObserved(2, async (f, o) => {
    await f.ok(w.put('q/1', 'a'));
    const before = f.store.currentRevision;
    // Overwrites q/1 and creates two keys: the creates cross the limit, so the overwrite goes too.
    const crossing = txnReq([], [op.put(putReq('q/1', 'changed')), op.put(putReq('q/2', 'b')), op.put(putReq('q/3', 'c'))]);
    assert.equal(await f.fail(w.txn(crossing)), 'QUOTA');
    assert.equal(f.get('q/1'), `q/1=a@${before}/${before}/v1`);
    assert.equal(f.get('q/2'), '-');
    assert.equal(f.store.currentRevision, before);
    // Deleting one and creating two nets +1: admitted (the check is on the entry's net change).
    const netting = txnReq([], [op.del({ key: enc('q/1'), rangeEnd: new Uint8Array(0), prevKv: false }), op.put(putReq('q/2', 'b')), op.put(putReq('q/3', 'c'))]);
    await f.ok(w.txn(netting));
    assert.deepEqual(f.keys('q/', 'q0'), ['q/2', 'q/3']);
    assert.equal(o.live, 2);
    f.checkInvariants();
  });
});

test('a refused put with a lease leaves the lease attachments as they were', async () => {
  await withObserved(1, async (f, _o, leases) => {
    await f.storage.transact('flushed', (txn) => leases.put(txn, { id: 7n, ttl: 60, remainingTtl: 0 }));
    await f.ok(w.put('q/1', 'a', { lease: 7n }));
    // Moving q/1 to no lease and creating q/2 on the lease: refused, q/1 stays attached.
    const t = txnReq([], [op.put(putReq('q/1', 'b')), op.put(putReq('q/2', 'c', { lease: 7n }))]);
    assert.equal(await f.fail(w.txn(t)), 'QUOTA');
    assert.deepEqual(leases.keys(7n).map(dec), ['q/1']);
  });
});

test('an external change deletes a whole range at one revision, reported to the session', async () => {
  await withObserved(10, async (f, o) => {
    for (const k of ['q/a', 'q/b', 'q/c', 'r/a']) await f.ok(w.put(k, 'v'));
    const rev = f.store.currentRevision;
    const { results, events } = await f.store.apply([
      {
        index: f.nextIndex++,
        request: { type: 'external', external: { apply: (ctx) => ({ ok: true, value: ctx.deleteRange(enc('q/'), enc('q0')) }) } },
      },
    ]);
    assert.ok(results[0]!.ok);
    assert.equal(results[0]!.ok ? (results[0]!.response as { value: unknown }).value : -1, 3);
    assert.deepEqual(
      events[0]!.map((e) => `${e.type} ${dec(e.prevKv!.key)} @${e.kv.modRevision}`),
      [`delete q/a @${rev + 1}`, `delete q/b @${rev + 1}`, `delete q/c @${rev + 1}`],
    );
    assert.equal(f.store.currentRevision, rev + 1);
    assert.equal(o.live, 0);
    assert.deepEqual(f.keys('a', 'z'), ['r/a']);
    assert.ok(o.begins.includes('external'));
    checkInvariants(f.storage, f.store);
  });
});

test('a refusal survives a reopen: nothing of the refused entry was committed', async () => {
  await withObserved(1, async (f) => {
    await f.ok(w.put('q/1', 'a'));
    assert.equal(await f.fail(w.put('q/2', 'b')), 'QUOTA');
    const applied = f.store.appliedIndex;
    await f.reopen();
    assert.equal(f.store.appliedIndex, applied);
    assert.deepEqual(f.keys('q/', 'q0'), ['q/1']);
    f.checkInvariants();
  });
});
