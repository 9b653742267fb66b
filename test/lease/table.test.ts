import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, type ApplyResult, type Entry, type WriteRequest } from '../../src/mvcc/index.js';
import { applyLeaseOp, decodeLeaseOp, encodeLeaseOp, LeaseTable, type LeaseOp } from '../../src/lease/index.js';
import { Storage } from '../../src/storage/index.js';
import { decodeEntry, encodeEntry } from '../../src/server/entry.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { Prng } from '../harness/simnet.js';
import { dec, delReq, enc, op, putReq, rangeReq, txnReq, cmp } from '../mvcc/helpers.js';

// The lease table on real LMDB, applied in mvcc's batch transaction: lease checks at apply,
// attachment bookkeeping, revoke at one revision with DELETE events (GUARANTEES W9), and the
// atomicity of keys, leases and the applied index.

class Fixture {
  readonly storage: Storage;
  readonly table: LeaseTable;
  readonly kv: KvStore;
  private index = 0;

  constructor(readonly dir: TmpDir) {
    this.storage = Storage.open(dir.sub('state'));
    this.table = new LeaseTable(this.storage);
    this.kv = KvStore.inStorage(this.storage, { leases: this.table });
  }

  lease(o: LeaseOp): Entry['request'] {
    return { type: 'external', external: { apply: (ctx) => applyLeaseOp(this.table, o, ctx) } };
  }

  async batch(reqs: Array<Entry['request']>): Promise<ApplyResult> {
    return this.kv.apply(reqs.map((request) => ({ index: ++this.index, request })));
  }

  /** The outcome of one request: 'ok' or the refusal's code. */
  async do(req: Entry['request']): Promise<string> {
    const r = (await this.batch([req])).results[0]!;
    return r.ok ? 'ok' : r.skipped ? 'skipped' : r.error.code;
  }

  keysOf(id: bigint): string[] {
    return this.table.keys(id).map(dec);
  }

  value(key: string): { value: string; lease: bigint } | undefined {
    const kv = this.kv.range(rangeReq(key)).kvs[0];
    return kv === undefined ? undefined : { value: dec(kv.value), lease: kv.lease };
  }

  /**
   * The invariant a crash must never break: every live key with a lease names an existing lease
   * that lists it, and every attachment names a live key carrying that lease.
   */
  checkInvariant(): void {
    const all = this.kv.range(rangeReq('\0', { end: '\0' })).kvs;
    const live = new Map(all.map((kv) => [dec(kv.key), kv.lease]));
    for (const [key, lease] of live) {
      if (lease === 0n) continue;
      assert.ok(this.table.exists(lease), `${key} is attached to lease ${lease}, which does not exist`);
      assert.ok(this.keysOf(lease).includes(key), `lease ${lease} does not list ${key}`);
    }
    for (const rec of this.table.list()) {
      for (const key of this.keysOf(rec.id)) assert.equal(live.get(key), rec.id, `lease ${rec.id} lists ${key}, which does not carry it`);
    }
  }

  async reopen(): Promise<Fixture> {
    await this.storage.flushed();
    await this.kv.close();
    await this.storage.close();
    const f = new Fixture(this.dir);
    f.index = this.index;
    return f;
  }

  async close(): Promise<void> {
    await this.kv.close();
    await this.storage.close();
  }
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = makeTmpDir('keyward-lease-');
  const f = new Fixture(dir);
  try {
    await fn(f);
  } finally {
    // Tests that reopen close their last fixture themselves; closing twice is harmless.
    await f.close().catch(() => undefined);
    dir.cleanup();
  }
}

const put = (key: string, value: string, lease = 0n, o: Partial<Parameters<typeof putReq>[2]> = {}): WriteRequest => ({ type: 'put', put: putReq(key, value, { lease, ...o }) });
const del = (key: string): WriteRequest => ({ type: 'deleteRange', deleteRange: delReq(key) });

test('a put with a lease that does not exist is refused at apply (LEASE_NOT_FOUND), writes nothing and keeps the revision', async () => {
  await withFixture(async (f) => {
    const rev = f.kv.currentRevision;
    assert.equal(await f.do(put('a', '1', 7n)), 'LEASE_NOT_FOUND');
    assert.equal(f.kv.currentRevision, rev);
    assert.equal(f.value('a'), undefined);
    // etcd checks the lease before the key for a plain put (ignore_value on a missing key).
    assert.equal(await f.do(put('a', '', 7n, { ignoreValue: true })), 'LEASE_NOT_FOUND');
    assert.equal(await f.do(f.lease({ type: 'grant', id: 7n, ttl: 60 })), 'ok');
    assert.equal(f.kv.currentRevision, rev, 'a grant does not bump the revision');
    assert.equal(await f.do(put('a', '1', 7n)), 'ok');
    assert.deepEqual(f.value('a'), { value: '1', lease: 7n });
    assert.deepEqual(f.keysOf(7n), ['a']);
  });
});

test('txn puts check their lease on the taken branch only; inside a txn the key is checked before the lease', async () => {
  await withFixture(async (f) => {
    const always = cmp('nokey', 0, 0, { kind: 'version', version: 0 }); // version("nokey") == 0 holds
    const never = cmp('nokey', 0, 0, { kind: 'version', version: 5 });
    assert.equal(await f.do({ type: 'txn', txn: txnReq([always], [op.put(putReq('t', 'v', { lease: 9n }))]) }), 'LEASE_NOT_FOUND');
    assert.equal(await f.do({ type: 'txn', txn: txnReq([never], [op.put(putReq('t', 'v', { lease: 9n }))]) }), 'ok');
    assert.equal(
      await f.do({ type: 'txn', txn: txnReq([], [op.put(putReq('t', '', { lease: 9n, ignoreValue: true }))]) }),
      'KEY_NOT_FOUND',
    );
    await f.do(f.lease({ type: 'grant', id: 9n, ttl: 60 }));
    assert.equal(await f.do({ type: 'txn', txn: txnReq([], [op.put(putReq('t', 'v', { lease: 9n })), op.put(putReq('u', 'v', { lease: 9n }))]) }), 'ok');
    assert.deepEqual(f.keysOf(9n), ['t', 'u']);
  });
});

test('attachments follow each key: another lease moves it, lease 0 detaches it, ignore_lease keeps it, delete detaches it', async () => {
  await withFixture(async (f) => {
    await f.batch([f.lease({ type: 'grant', id: 7n, ttl: 60 }), f.lease({ type: 'grant', id: 8n, ttl: 60 })]);
    await f.batch([put('a', '1', 7n), put('b', '1', 7n)]);
    assert.deepEqual(f.keysOf(7n), ['a', 'b']);
    await f.do(put('a', '2', 8n));
    assert.deepEqual([f.keysOf(7n), f.keysOf(8n)], [['b'], ['a']]);
    await f.do(put('a', '3', 0n, { ignoreLease: true }));
    assert.deepEqual(f.value('a'), { value: '3', lease: 8n });
    assert.deepEqual(f.keysOf(8n), ['a']);
    await f.do(put('b', '2'));
    assert.deepEqual(f.keysOf(7n), []);
    await f.do(del('a'));
    assert.deepEqual(f.keysOf(8n), []);
    f.checkInvariant();
  });
});

test('W9 revoke deletes every attached key at ONE new revision, one DELETE event per key in key order; the lease and its attachments are gone', async () => {
  await withFixture(async (f) => {
    await f.do(f.lease({ type: 'grant', id: -5n, ttl: 60 })); // negative IDs are legal (etcd grants them)
    await f.batch([put('k/c', 'c', -5n), put('k/a', 'a', -5n), put('k/b', 'b', -5n), put('other', 'x')]);
    const rev = f.kv.currentRevision;
    const out = await f.batch([f.lease({ type: 'revoke', id: -5n })]);
    const r = out.results[0]!;
    assert.ok(r.ok);
    assert.equal(r.response.header.revision, rev + 1);
    assert.deepEqual((r.response as { value: unknown }).value, { type: 'revoke', deleted: 3 });
    assert.equal(f.kv.currentRevision, rev + 1);
    const events = out.events[0]!;
    assert.deepEqual(
      events.map((e) => [e.type, dec(e.kv.key), e.kv.modRevision, dec(e.prevKv!.value)]),
      [
        ['delete', 'k/a', rev + 1, 'a'],
        ['delete', 'k/b', rev + 1, 'b'],
        ['delete', 'k/c', rev + 1, 'c'],
      ],
    );
    assert.equal(f.value('k/a'), undefined);
    assert.deepEqual(f.value('other'), { value: 'x', lease: 0n });
    assert.equal(f.table.exists(-5n), false);
    assert.deepEqual(f.keysOf(-5n), []);
    f.checkInvariant();
  });
});

test('revoking a lease without keys leaves the revision alone and makes no event; refusals write nothing', async () => {
  await withFixture(async (f) => {
    await f.do(f.lease({ type: 'grant', id: 3n, ttl: 60 }));
    const rev = f.kv.currentRevision;
    const out = await f.batch([f.lease({ type: 'revoke', id: 3n })]);
    assert.ok(out.results[0]!.ok);
    assert.deepEqual(out.events[0], []);
    assert.equal(f.kv.currentRevision, rev);
    assert.equal(await f.do(f.lease({ type: 'revoke', id: 3n })), 'LEASE_NOT_FOUND');
    assert.equal(await f.do(f.lease({ type: 'revoke', id: 0n })), 'LEASE_NOT_FOUND');
    await f.do(f.lease({ type: 'grant', id: 4n, ttl: 60 }));
    assert.equal(await f.do(f.lease({ type: 'grant', id: 4n, ttl: 90 })), 'LEASE_EXISTS');
    assert.equal(f.table.get(4n)!.ttl, 60, 'the refused grant changed nothing');
    assert.equal(await f.do(f.lease({ type: 'grant', id: 5n, ttl: 9_000_000_001 })), 'LEASE_TTL_TOO_LARGE');
    assert.equal(await f.do(f.lease({ type: 'grant', id: 5n, ttl: 9_000_000_000 })), 'ok');
    assert.equal(f.kv.currentRevision, rev);
  });
});

test('checkpoints record remaining TTLs (skipping leases that are gone) and survive reopening', async () => {
  await withFixture(async (fx) => {
    let f = fx;
    await f.batch([f.lease({ type: 'grant', id: 1n, ttl: 100 }), f.lease({ type: 'grant', id: 2n, ttl: 50 }), put('a', 'v', 1n)]);
    assert.equal(await f.do(f.lease({ type: 'checkpoint', checkpoints: [{ id: 1n, remainingTtl: 40 }, { id: 99n, remainingTtl: 3 }] })), 'ok');
    f = await f.reopen();
    assert.deepEqual(
      f.table.list().sort((x, y) => Number(x.id - y.id)),
      [
        { id: 1n, ttl: 100, remainingTtl: 40 },
        { id: 2n, ttl: 50, remainingTtl: 0 },
      ],
    );
    assert.deepEqual(f.keysOf(1n), ['a']);
    assert.equal(f.table.exists(99n), false);
    await f.close();
  });
});

test('atomicity: a batch that fails half-way leaves no lease without its keys nor keys without their lease', async () => {
  await withFixture(async (f) => {
    const before = f.kv.appliedIndex;
    const boom: Entry['request'] = {
      type: 'external',
      external: {
        apply: (ctx) => {
          ctx.deleteKeys([enc('x')]);
          throw new Error('crash in the middle of the batch');
        },
      },
    };
    await assert.rejects(f.batch([f.lease({ type: 'grant', id: 11n, ttl: 60 }), put('x', 'v', 11n), boom]), /crash in the middle/);
    assert.equal(f.kv.appliedIndex, before);
    assert.equal(f.table.exists(11n), false);
    assert.equal(f.value('x'), undefined);
    assert.deepEqual(f.keysOf(11n), []);
    f.checkInvariant();
  });
});

test('random operations keep keys and leases consistent, also across reopening (seeded)', async () => {
  await withFixture(async (fx) => {
    let f = fx;
    const rng = new Prng(2024);
    const ids = [1n, 2n, 3n, -4n];
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let round = 0; round < 6; round++) {
      const reqs: Array<Entry['request']> = [];
      for (let i = 0; i < 40; i++) {
        const id = rng.pick(ids);
        const key = rng.pick(keys);
        switch (rng.int(7)) {
          case 0:
            reqs.push(f.lease({ type: 'grant', id, ttl: 10 }));
            break;
          case 1:
            reqs.push(f.lease({ type: 'revoke', id }));
            break;
          case 2:
            reqs.push(put(key, `v${i}`, id));
            break;
          case 3:
            reqs.push(put(key, `v${i}`));
            break;
          case 4:
            reqs.push(del(key));
            break;
          case 5:
            reqs.push(put(key, `v${i}`, 0n, { ignoreLease: true }));
            break;
          default:
            reqs.push({ type: 'txn', txn: txnReq([], [op.put(putReq(key, 't', { lease: id })), op.del(delReq(rng.pick(keys.filter((k) => k !== key))))]) });
        }
      }
      await f.batch(reqs);
      f.checkInvariant();
      f = await f.reopen();
      f.checkInvariant();
    }
    await f.close();
  });
});

test('lease ops and their log entries round-trip exactly, 64-bit IDs included', () => {
  const ops: LeaseOp[] = [
    { type: 'grant', id: 7587869402553040003n, ttl: 9_000_000_000 },
    { type: 'grant', id: -9223372036854775808n, ttl: 2 },
    { type: 'revoke', id: 9223372036854775807n },
    { type: 'checkpoint', checkpoints: [] },
    { type: 'checkpoint', checkpoints: [{ id: 1n, remainingTtl: 0 }, { id: -1n, remainingTtl: 123456 }] },
  ];
  for (const o of ops) {
    assert.deepEqual(decodeLeaseOp(encodeLeaseOp(o)), o);
    const entry = decodeEntry(encodeEntry({ member: 5n, seq: 9n }, { kind: 'lease', op: o }));
    assert.deepEqual(entry, { id: { member: 5n, seq: 9n }, body: { kind: 'lease', op: o } });
  }
  assert.throws(() => decodeLeaseOp(Uint8Array.of(1, 2, 3)), /malformed lease entry/);
  assert.throws(() => decodeLeaseOp(Uint8Array.of(9)), /malformed lease entry/);
});
