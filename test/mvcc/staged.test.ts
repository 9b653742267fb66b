// Reads of a batch applied but not yet committed (src/mvcc/staged.ts): pipelined persistence
// answers a write once its batch is staged on the write worker, so a read on the same member
// between the staging and the commit must already see it — the value, the revision, the history
// a watcher catches up from — and never an entry the batch took back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, type ExternalRejection, type ObservedRequest, type UsageObserver, type UsageSession } from '../../src/mvcc/index.js';
import { Fixture, dec, rangeReq, w } from './helpers.js';
import type { WriteRequest } from '../../src/mvcc/index.js';

/** Stages `reqs` as one batch on the write worker; calls `during` after the staging, then awaits the commit. */
async function stagedWindow(f: Fixture, reqs: WriteRequest[], during: () => void): Promise<boolean> {
  let staged = false;
  const { committed } = f.storage.batchAsync(() => {
    f.store.applyInBatch(reqs.map((request) => ({ index: f.nextIndex++, request })));
    staged = true;
  });
  while (!staged) await new Promise((r) => setImmediate(r));
  // Whether LMDB still showed the old state: the window this test is about.
  const before = f.storage.table('mvcc.meta').get(new TextEncoder().encode('state'));
  during();
  await committed;
  const after = f.storage.table('mvcc.meta').get(new TextEncoder().encode('state'));
  return before !== undefined && after !== undefined && Buffer.compare(before, after) !== 0;
}

test('a staged batch is readable before its commit: value, revision, history with prev_kv, counts', async () => {
  const f = new Fixture();
  try {
    await f.batch([w.put('a', '1'), w.put('b', '1')]);
    let windows = 0;
    for (let i = 0; i < 20 && windows < 3; i++) {
      const rev = f.store.currentRevision;
      const seenOld = await stagedWindow(f, [w.put('a', `v${i}`), w.del('b'), w.put('b', `w${i}`)], () => {
        assert.equal(f.store.currentRevision, rev + 3);
        assert.match(f.get('a'), new RegExp(`^a=v${i}@`));
        assert.equal(f.store.range(rangeReq('a', { end: 'z', countOnly: true })).count, 2);
        const page = f.store.changes(rev + 1, { prevKv: true });
        assert.deepEqual(
          page.events.map((e) => `${e.type} ${dec(e.kv.key)}@${e.kv.modRevision} prev=${e.prevKv === undefined ? '-' : dec(e.prevKv.value)}`),
          [`put a@${rev + 1} prev=${i === 0 ? '1' : `v${i - 1}`}`, `delete b@${rev + 2} prev=${i === 0 ? '1' : `w${i - 1}`}`, `put b@${rev + 3} prev=-`],
        );
        assert.equal(page.nextRevision, rev + 4);
      });
      if (seenOld) windows++;
    }
    assert.ok(windows > 0, 'never read between a staging and its commit');
    // After the commits: the same answers from LMDB alone.
    await f.reopen();
    assert.match(f.get('a'), /^a=v\d+@/);
    f.checkInvariants();
  } finally {
    await f.close();
  }
});

class Refused extends Error implements ExternalRejection {
  readonly code = 'QUOTA';
}

/** Refuses every put of key "no" after it ran (a quota decided on the entry's net change). */
const refuseNo: UsageObserver = {
  begin(request: ObservedRequest): UsageSession | undefined {
    if (request.type !== 'put') return undefined;
    let refuse = false;
    return {
      mayRefuse: true,
      keyChanged(key: Uint8Array): void {
        if (dec(key) === 'no') refuse = true;
      },
      finish(): ExternalRejection | undefined {
        return refuse ? new Refused('no') : undefined;
      },
    };
  },
};

test('an entry refused after it ran leaves nothing in the staged history: no event, no record, the next entry takes its revision', async () => {
  const f = new Fixture();
  try {
    await f.store.close();
    f.store = KvStore.inStorage(f.storage, { usage: refuseNo });
    await f.batch([w.put('a', '1')]);
    const rev = f.store.currentRevision;
    await stagedWindow(f, [w.put('no', 'x'), w.put('a', '2')], () => {
      const page = f.store.changes(rev + 1);
      assert.deepEqual(page.events.map((e) => `${dec(e.kv.key)}=${dec(e.kv.value)}@${e.kv.modRevision}`), [`a=2@${rev + 1}`]);
      assert.equal(f.get('no'), '-');
    });
    assert.deepEqual(f.store.changes(rev + 1).events.map((e) => dec(e.kv.key)), ['a']);
    f.checkInvariants();
  } finally {
    await f.close();
  }
});

test('a batch that throws takes back its staged records and meta with its index changes', async () => {
  const f = new Fixture();
  try {
    await f.batch([w.put('a', '1')]);
    const rev = f.store.currentRevision;
    // A malformed request after a good one: misuse fails the whole batch, nothing of it stays.
    const malformed: WriteRequest = {
      type: 'put',
      put: { key: 'not bytes' as unknown as Uint8Array, value: new Uint8Array(0), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
    };
    await assert.rejects(f.batch([w.put('a', '2'), malformed]), TypeError);
    assert.equal(f.store.currentRevision, rev);
    assert.match(f.get('a'), /^a=1@/);
    assert.deepEqual(f.store.changes(rev + 1).events, []);
    f.checkInvariants();
  } finally {
    await f.close();
  }
});
