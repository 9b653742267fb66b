// apply(): one transaction per batch, applied index stored with the data, idempotence by index,
// per-entry errors, whole-batch failure on misuse or corruption, durability across kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { PutResponse, RangeRequest } from '../../src/wire/index.js';
import { KvStore, CorruptError, type WriteRequest } from '../../src/mvcc/index.js';
import { Storage, SUB_DBS } from '../../src/storage/index.js';
import { encodeRevision } from '../../src/mvcc/revision.js';
import { withTmpDir } from '../harness/tmpdir.js';
import { withFixture, w, op, putReq, rangeReq, txnReq, show, type Fixture } from './helpers.js';

const summary = (f: Fixture): string => `rev=${f.store.currentRevision} applied=${f.store.appliedIndex}`;

test('a batch of 64 puts is one apply: consecutive revisions, applied index = last entry', async () => {
  await withFixture(async (f) => {
    const reqs = Array.from({ length: 64 }, (_, i) => w.put(`k${i}`, `v${i}`));
    const { results, events } = await f.batch(reqs);
    assert.equal(results.length, 64);
    assert.deepEqual(
      results.map((r) => (r.ok ? (r.response as PutResponse).header.revision : -1)),
      Array.from({ length: 64 }, (_, i) => i + 2),
    );
    assert.equal(events.length, 64);
    assert.ok(events.every((e) => e.length === 1));
    assert.equal(summary(f), 'rev=65 applied=64');
    f.checkInvariants();
  });
});

test('entries at or below the applied index are skipped: re-applying a batch is a no-op', async () => {
  await withFixture(async (f) => {
    const entries = [
      { index: 1, request: w.put('a', '1') },
      { index: 2, request: w.put('a', '2') },
      { index: 3, request: w.del('a') },
    ];
    await f.store.apply(entries);
    assert.equal(summary(f), 'rev=4 applied=3');
    const again = await f.store.apply(entries);
    assert.deepEqual(again.results, [
      { ok: false, skipped: true },
      { ok: false, skipped: true },
      { ok: false, skipped: true },
    ]);
    assert.deepEqual(again.events, [[], [], []]);
    assert.equal(summary(f), 'rev=4 applied=3');
    // A batch overlapping the applied index applies only its new part.
    const mixed = await f.store.apply([
      { index: 3, request: w.put('a', 'dup') },
      { index: 4, request: w.put('a', 'new') },
    ]);
    assert.equal(mixed.results[0]!.ok, false);
    assert.equal(mixed.results[1]!.ok, true);
    assert.equal(f.get('a'), 'a=new@5/5/v1');
    assert.equal(summary(f), 'rev=5 applied=4');
    // Gaps are allowed (indexes of entries that are not KV writes), out-of-order ones are skipped.
    await f.store.apply([{ index: 10, request: w.put('b', '1') }, { index: 7, request: w.put('b', 'old') }]);
    assert.equal(f.get('b'), 'b=1@6/6/v1');
    assert.equal(summary(f), 'rev=6 applied=10');
  });
});

test('state and applied index survive close and reopen; replay after reopen is a no-op', async () => {
  await withFixture(async (f) => {
    const entries = [
      { index: 1, request: w.put('a', '1') },
      { index: 2, request: w.put('b', '2', { lease: 3n }) },
      { index: 3, request: w.compact(2) },
    ];
    await f.store.apply(entries);
    await f.reopen();
    assert.equal(summary(f), 'rev=3 applied=3');
    assert.equal(f.store.compactRevision, 2);
    assert.equal(f.get('b'), 'b=2@3/3/v1+L3');
    const replay = await f.store.apply(entries);
    assert.ok(replay.results.every((r) => !r.ok && r.skipped));
    assert.equal(summary(f), 'rev=3 applied=3');
    f.checkInvariants();
  });
});

test('KvStore.open owns its environment: close closes it, reopening the directory finds the data', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('kv');
    const s = KvStore.open(dir);
    await s.apply([{ index: 1, request: w.put('k', 'v') }]);
    const c = s.close();
    assert.equal(s.close(), c);
    await c;
    assert.throws(() => s.range(rangeReq('k')), TypeError);
    await assert.rejects(s.apply([{ index: 2, request: w.put('k', 'v') }]), TypeError);
    const s2 = KvStore.open(dir);
    assert.equal(show(s2.range(rangeReq('k')).kvs[0]), 'k=v@2/2/v1');
    assert.ok(s2.stats().dbSize > 0);
    assert.ok(s2.stats().dbSizeInUse <= s2.stats().dbSize);
    await s2.close();
  });
});

test('errors inside a batch do not stop it: each failed entry writes nothing, the index still advances', async () => {
  await withFixture(async (f) => {
    const { results, events } = await f.batch([
      w.put('a', '1'),
      w.put('', 'x'),
      w.txn(txnReq([], [op.put(putReq('b', '1')), op.put(putReq('nokey', '', { ignoreValue: true }))])),
      w.compact(99),
      w.put('c', '1'),
    ]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.skipped ? 'skipped' : r.error.code)),
      ['ok', 'KEY_NOT_PROVIDED', 'KEY_NOT_FOUND', 'FUTURE_REV', 'ok'],
    );
    assert.deepEqual(events.map((e) => e.length), [1, 0, 0, 0, 1]);
    assert.equal(f.get('b'), '-');
    assert.equal(f.get('c'), 'c=1@3/3/v1');
    assert.equal(summary(f), 'rev=3 applied=5');
    f.checkInvariants();
  });
});

test('a malformed entry (misuse) rejects the whole batch and writes none of it', async () => {
  await withFixture(async (f) => {
    await f.batch([w.put('before', '1')]);
    const bad: WriteRequest = { type: 'txn', txn: txnReq([], [op.range(rangeReq('a', { sortTarget: 9 as RangeRequest['sortTarget'] }))]) };
    await assert.rejects(
      f.store.apply([
        { index: 2, request: w.put('x', '1') },
        { index: 3, request: bad },
      ]),
      TypeError,
    );
    assert.equal(f.get('x'), '-');
    assert.equal(summary(f), 'rev=2 applied=1');
    await assert.rejects(f.store.apply([{ index: 1.5, request: w.put('x', '1') }]), TypeError);
    await assert.rejects(f.store.apply([{ index: 4, request: { type: 'bogus' } as unknown as WriteRequest }]), TypeError);
    // The store is still usable.
    await f.store.apply([{ index: 2, request: w.put('x', '1') }]);
    assert.equal(summary(f), 'rev=3 applied=2');
  });
});

test('overlapping apply calls are misuse; an empty batch resolves at once', async () => {
  await withFixture(async (f) => {
    const first = f.store.apply([{ index: 1, request: w.put('a', '1') }]);
    await assert.rejects(f.store.apply([{ index: 2, request: w.put('b', '1') }]), TypeError);
    await first;
    assert.deepEqual(await f.store.apply([]), { results: [], events: [] });
    assert.equal(summary(f), 'rev=2 applied=1');
  });
});

test('close waits for an in-flight apply, which completes', async () => {
  await withFixture(async (f) => {
    let done = false;
    const p = f.store.apply([{ index: 1, request: w.put('a', '1') }]).then(() => {
      done = true;
    });
    await f.store.close();
    assert.equal(done, true);
    await p;
    assert.throws(() => f.store.range(rangeReq('a')), TypeError);
    const reopened = KvStore.inStorage(f.storage);
    assert.equal(show(reopened.range(rangeReq('a')).kvs[0]), 'a=1@2/2/v1');
  });
});

test('reads after apply resolves see the batch; reads never see a batch half-applied', async () => {
  await withFixture(async (f) => {
    const p = f.batch([w.put('a', '1'), w.put('b', '1')]);
    // Before the batch commits, reads show the old state with the old header revision.
    const early = f.store.range(rangeReq('a', { end: 'z' }));
    assert.equal(early.header.revision, 1);
    assert.equal(early.count, 0);
    await p;
    const late = f.store.range(rangeReq('a', { end: 'z' }));
    assert.equal(late.header.revision, 3);
    assert.equal(late.count, 2);
  });
});

test('corrupt history is detected and never served; corrupt meta fails the open', async () => {
  await withFixture(async (f) => {
    await f.batch([w.put('a', 'value'), w.put('b', 'value')]);
    const kvTable = f.storage.table(SUB_DBS.mvccKv);
    const rev = encodeRevision(2, 0);
    const rec = Uint8Array.from(kvTable.get(rev)!);
    rec[rec.length - 6]! ^= 0x40; // flip a bit inside the value
    await f.storage.transact('flushed', (txn) => txn.put(kvTable, rev, rec));
    assert.throws(() => f.store.range(rangeReq('a')), CorruptError);
    assert.throws(() => f.store.range(rangeReq('a', { end: 'z' })), CorruptError);
    assert.equal(show(f.store.range(rangeReq('b')).kvs[0]), 'b=value@3/3/v1');
    // An apply that needs the corrupt record fails as a whole.
    await assert.rejects(f.batch([w.put('c', '1'), w.put('a', 'again')]), CorruptError);
    assert.equal(f.get('c'), '-');

    const meta = f.storage.table(SUB_DBS.mvccMeta);
    const key = new TextEncoder().encode('state');
    const m = Uint8Array.from(meta.get(key)!);
    m[3]! ^= 1;
    await f.storage.transact('flushed', (txn) => txn.put(meta, key, m));
    assert.throws(() => KvStore.inStorage(f.storage), CorruptError);
  });
});

test('history without a meta record is corruption at open', async () => {
  await withTmpDir(async (tmp) => {
    const storage = Storage.open(tmp.sub('d'));
    await storage.transact('flushed', (txn) => txn.put(storage.table(SUB_DBS.mvccKv), encodeRevision(2, 0), Uint8Array.of(1)));
    assert.throws(() => KvStore.inStorage(storage), CorruptError);
    await storage.close();
  });
});

test('an apply that resolved survives kill -9 of the process', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('data');
    const script = `
      import { KvStore } from ${JSON.stringify(new URL('../../src/mvcc/index.ts', import.meta.url).href)};
      const s = KvStore.open(${JSON.stringify(dir)});
      const te = new TextEncoder();
      for (let i = 1; i <= 10; i++) {
        const request = { type: 'put', put: { key: te.encode('k' + i), value: te.encode('v' + i), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } };
        await s.apply([{ index: i, request }]);
        process.stdout.write('applied ' + i + '\\n');
      }
      process.kill(process.pid, 'SIGKILL');
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    assert.equal(res.stdout.trim().split('\n').length, 10);
    const s = KvStore.open(dir);
    assert.equal(s.appliedIndex, 10);
    assert.equal(s.currentRevision, 11);
    assert.equal(show(s.range(rangeReq('k10')).kvs[0]), 'k10=v10@11/11/v1');
    await s.close();
  });
});
