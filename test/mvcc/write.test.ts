// Put and delete-range semantics (API.md sections 5 and 13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeleteRangeResponse, PutResponse } from '../../src/wire/index.js';
import { withFixture, w, show, rangeReq, ZERO } from './helpers.js';

test('each put bumps the revision by one; create/mod/version follow the generation', async () => {
  await withFixture(async (f) => {
    const r1 = await f.ok<PutResponse>(w.put('foo', 'bar'));
    assert.equal(r1.header.revision, 2);
    assert.equal(r1.prevKv, undefined);
    await f.ok(w.put('other', 'x'));
    const r3 = await f.ok<PutResponse>(w.put('foo', 'bar2'));
    assert.equal(r3.header.revision, 4);
    assert.equal(f.get('foo'), 'foo=bar2@2/4/v2');
    assert.equal(f.store.currentRevision, 4);
    assert.equal(f.store.appliedIndex, 3);
    f.checkInvariants();
  });
});

test('prev_kv is returned only when asked and only if the key existed', async () => {
  await withFixture(async (f) => {
    const first = await f.ok<PutResponse>(w.put('foo', 'bar', { prevKv: true }));
    assert.equal(first.prevKv, undefined);
    const second = await f.ok<PutResponse>(w.put('foo', 'bar2', { prevKv: true }));
    assert.equal(show(second.prevKv), 'foo=bar@2/2/v1');
    const third = await f.ok<PutResponse>(w.put('foo', 'bar3'));
    assert.equal(third.prevKv, undefined);
  });
});

test('an empty value is legal and stored empty', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('e', ''));
    assert.equal(f.get('e'), 'e=@2/2/v1');
  });
});

test('leases: a plain put replaces the lease (0 detaches); ignore_value keeps the value but takes the lease from the request', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', 'v1', { lease: 5n }));
    assert.equal(f.get('k'), 'k=v1@2/2/v1+L5');
    await f.ok(w.put('k', 'v2'));
    assert.equal(f.get('k'), 'k=v2@2/3/v2');
    await f.ok(w.put('k', 'v3', { lease: 6n }));
    await f.ok(w.put('k', '', { ignoreValue: true }));
    assert.equal(f.get('k'), 'k=v3@2/5/v4'); // lease detached
    await f.ok(w.put('k', '', { ignoreValue: true, lease: 8n }));
    assert.equal(f.get('k'), 'k=v3@2/6/v5+L8');
    // Lease IDs are full signed 64-bit values.
    await f.ok(w.put('big', 'x', { lease: -(2n ** 63n) }));
    assert.equal(f.store.range(rangeReq('big')).kvs[0]!.lease, -(2n ** 63n));
  });
});

test('ignore_lease keeps the old lease and takes the new value; both flags keep both', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', 'v1', { lease: 5n }));
    await f.ok(w.put('k', 'v2', { ignoreLease: true }));
    assert.equal(f.get('k'), 'k=v2@2/3/v2+L5');
    await f.ok(w.put('k', '', { ignoreLease: true, ignoreValue: true }));
    assert.equal(f.get('k'), 'k=v2@2/4/v3+L5');
  });
});

test('ignore_value / ignore_lease on a missing key is KEY_NOT_FOUND at apply: nothing written, no revision bump', async () => {
  await withFixture(async (f) => {
    assert.equal(await f.fail(w.put('nokey', '', { ignoreValue: true })), 'KEY_NOT_FOUND');
    assert.equal(await f.fail(w.put('nokey', 'v', { ignoreLease: true })), 'KEY_NOT_FOUND');
    assert.equal(f.store.currentRevision, 1);
    assert.equal(f.store.appliedIndex, 2);
    assert.equal(f.get('nokey'), '-');
    assert.deepEqual(f.history(), []);
    // The same on a deleted key.
    await f.ok(w.put('gone', 'x'));
    await f.ok(w.del('gone'));
    assert.equal(await f.fail(w.put('gone', '', { ignoreValue: true })), 'KEY_NOT_FOUND');
    assert.equal(f.store.currentRevision, 3);
  });
});

test('validation errors at apply write nothing and still advance the applied index', async () => {
  await withFixture(async (f) => {
    assert.equal(await f.fail(w.put('', 'v')), 'KEY_NOT_PROVIDED');
    assert.equal(await f.fail(w.put('k', 'v', { ignoreValue: true })), 'VALUE_PROVIDED');
    assert.equal(await f.fail(w.put('k', 'v', { ignoreLease: true, lease: 1n })), 'LEASE_PROVIDED');
    assert.equal(await f.fail(w.del('')), 'KEY_NOT_PROVIDED');
    assert.equal(f.store.appliedIndex, 4);
    assert.equal(f.store.currentRevision, 1);
  });
});

test('deleting nothing does not bump the revision; deleting N keys bumps it once with N sub-revisions', async () => {
  await withFixture(async (f) => {
    for (const k of ['a', 'b', 'c']) await f.ok(w.put(k, k));
    const none = await f.ok<DeleteRangeResponse>(w.del('x', 'z'));
    assert.deepEqual({ rev: none.header.revision, deleted: none.deleted, prev: none.prevKvs }, { rev: 4, deleted: 0, prev: [] });
    assert.equal(f.store.currentRevision, 4);
    const some = await f.ok<DeleteRangeResponse>(w.del('a', 'c', true));
    assert.equal(some.header.revision, 5);
    assert.equal(some.deleted, 2);
    assert.deepEqual(some.prevKvs.map(show), ['a=a@2/2/v1', 'b=b@3/3/v1']);
    assert.deepEqual(f.index().filter((e) => e.includes('@5.')), ['a@5.0t', 'b@5.1t']);
    const noPrev = await f.ok<DeleteRangeResponse>(w.del('c'));
    assert.equal(noPrev.deleted, 1);
    assert.deepEqual(noPrev.prevKvs, []);
    assert.equal(f.store.currentRevision, 6);
    f.checkInvariants();
  });
});

test('delete with range_end "\\0" removes every key from key on; re-creating starts a new generation', async () => {
  await withFixture(async (f) => {
    for (const k of ['a', 'b', 'c']) await f.ok(w.put(k, k));
    const r = await f.ok<DeleteRangeResponse>(w.del('b', ZERO));
    assert.equal(r.deleted, 2);
    assert.deepEqual(f.keys('\0', ZERO), ['a']);
    await f.ok(w.put('b', 'again'));
    assert.equal(f.get('b'), 'b=again@6/6/v1');
  });
});

test('change events: puts carry the new kv and the previous one; deletes carry only key and mod revision', async () => {
  await withFixture(async (f) => {
    let ev = (await f.batch([w.put('k', 'v1')])).events[0]!;
    assert.deepEqual(ev.map((e) => [e.type, show(e.kv), show(e.prevKv)]), [['put', 'k=v1@2/2/v1', '-']]);
    ev = (await f.batch([w.put('k', 'v2')])).events[0]!;
    assert.deepEqual(ev.map((e) => [e.type, show(e.kv), show(e.prevKv)]), [['put', 'k=v2@2/3/v2', 'k=v1@2/2/v1']]);
    await f.ok(w.put('l', 'x'));
    ev = (await f.batch([w.del('k', 'z')])).events[0]!;
    assert.deepEqual(ev.map((e) => [e.type, show(e.kv), show(e.prevKv)]), [
      ['delete', 'k=@0/5/v0', 'k=v2@2/3/v2'],
      ['delete', 'l=@0/5/v0', 'l=x@4/4/v1'],
    ]);
    ev = (await f.batch([w.del('nothing')])).events[0]!;
    assert.deepEqual(ev, []);
  });
});
