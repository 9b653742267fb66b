// Range semantics (API.md section 5). Expected results marked "etcd" were observed against etcd
// 3.4.23 with the same writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RangeRequest } from '../../src/wire/index.js';
import { MvccError } from '../../src/mvcc/index.js';
import { withFixture, w, rangeReq, show, ZERO, type Fixture } from './helpers.js';

/** etcd scenario: a..e put at revisions 2..6 (value v<key>), then b=v2 at 7. */
async function abcde(f: Fixture): Promise<void> {
  for (const k of ['a', 'b', 'c', 'd', 'e']) await f.ok(w.put(k, `v${k}`));
  await f.ok(w.put('b', 'v2'));
  assert.equal(f.store.currentRevision, 7);
}

function rng(f: Fixture, o: Partial<RangeRequest> & { end?: string | Uint8Array }, key = 'a'): { kvs: string[]; more: boolean; count: number; rev: number } {
  const r = f.store.range(rangeReq(key, o));
  return { kvs: r.kvs.map(show), more: r.more, count: r.count, rev: r.header.revision };
}

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof MvccError) return e.code;
    throw e;
  }
};

test('a fresh store is at revision 1 and empty', async () => {
  await withFixture(async (f) => {
    assert.equal(f.store.currentRevision, 1);
    assert.equal(f.store.appliedIndex, 0);
    assert.equal(f.store.compactRevision, -1);
    assert.deepEqual(rng(f, { end: ZERO }, '\0'), { kvs: [], more: false, count: 0, rev: 1 });
    const r = f.store.range(rangeReq('a'));
    assert.deepEqual(r.header, { clusterId: 0n, memberId: 0n, revision: 1, raftTerm: 0 });
  });
});

test('single key, missing key, and the full KeyValue', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('foo', 'bar', { lease: 7n }));
    const r = f.store.range(rangeReq('foo'));
    assert.deepEqual(r.kvs, [{ key: new TextEncoder().encode('foo'), createRevision: 2, modRevision: 2, version: 1, value: new TextEncoder().encode('bar'), lease: 7n }]);
    assert.equal(r.count, 1);
    assert.equal(r.more, false);
    assert.deepEqual(rng(f, {}, 'nokey'), { kvs: [], more: false, count: 0, rev: 2 });
    // A prefix of an existing key is a different key.
    assert.deepEqual(rng(f, {}, 'fo').kvs, []);
  });
});

test('range_end: [key, end), "\\0" means to the end, key = end = "\\0" means everything, end <= key is empty', async () => {
  await withFixture(async (f) => {
    for (const k of ['a', 'a/1', 'a/2', 'a0', 'b', 'c']) await f.ok(w.put(k, '1'));
    await f.ok(w.put('\0x', '1'));
    const keys = (key: string, end: string | Uint8Array): string[] => f.keys(key, end);
    assert.deepEqual(keys('a/', 'a0'), ['a/1', 'a/2']);
    assert.deepEqual(keys('a', 'b'), ['a', 'a/1', 'a/2', 'a0']);
    assert.deepEqual(keys('a0', ZERO), ['a0', 'b', 'c']);
    assert.deepEqual(keys('\0', ZERO), ['\0x', 'a', 'a/1', 'a/2', 'a0', 'b', 'c']);
    assert.deepEqual(keys('b', 'b'), []);
    assert.deepEqual(keys('c', 'a'), []);
    assert.equal(f.store.range(rangeReq('c', { end: 'a' })).count, 0);
  });
});

test('limit cuts the result, sets more, and count is the number of keys before the limit; limit <= 0 is unlimited', async () => {
  await withFixture(async (f) => {
    await abcde(f);
    assert.deepEqual(rng(f, { end: 'c', limit: 1, keysOnly: true }), { kvs: ['a=@2/2/v1'], more: true, count: 2, rev: 7 });
    assert.deepEqual(rng(f, { end: 'z', limit: 2 }).count, 5);
    assert.equal(rng(f, { end: 'z', limit: 5 }).more, false);
    assert.equal(rng(f, { end: 'z', limit: 0 }).kvs.length, 5);
    assert.equal(rng(f, { end: 'z', limit: -1 }).kvs.length, 5);
    assert.deepEqual(rng(f, { end: 'z', limit: 2, sortOrder: 2, keysOnly: true }).kvs, ['e=@6/6/v1', 'd=@5/5/v1']);
  });
});

test('etcd scenario: filters apply after counting, before limit; more reflects the filtered list', async () => {
  await withFixture(async (f) => {
    await abcde(f);
    // etcd: kvs b(3/7/v2), c(4/4/v1), more true, count 5
    assert.deepEqual(rng(f, { end: 'z', limit: 2, minModRevision: 3, keysOnly: true }), {
      kvs: ['b=@3/7/v2', 'c=@4/4/v1'],
      more: true,
      count: 5,
      rev: 7,
    });
    // etcd: four kvs, no more, count 5
    assert.deepEqual(rng(f, { end: 'z', limit: 4, minModRevision: 4, keysOnly: true }).kvs, ['b=@3/7/v2', 'c=@4/4/v1', 'd=@5/5/v1', 'e=@6/6/v1']);
    assert.equal(rng(f, { end: 'z', limit: 4, minModRevision: 4 }).more, false);
    assert.deepEqual(rng(f, { end: 'z', maxModRevision: 4, keysOnly: true }).kvs, ['a=@2/2/v1', 'c=@4/4/v1']);
    assert.deepEqual(rng(f, { end: 'z', minCreateRevision: 4, maxCreateRevision: 5, keysOnly: true }).kvs, ['c=@4/4/v1', 'd=@5/5/v1']);
    // etcd: count_only ignores filters and limit
    assert.deepEqual(rng(f, { end: 'z', countOnly: true, minModRevision: 4 }), { kvs: [], more: false, count: 5, rev: 7 });
    assert.deepEqual(rng(f, { end: 'z', countOnly: true, limit: 1 }), { kvs: [], more: false, count: 5, rev: 7 });
  });
});

test('sort: every target both ways; a non-KEY target with order NONE sorts ascending; sort happens before limit', async () => {
  await withFixture(async (f) => {
    await abcde(f);
    const ks = (o: Partial<RangeRequest>): string => rng(f, { end: 'z', keysOnly: true, ...o }).kvs.map((s) => s[0]).join('');
    assert.equal(ks({}), 'abcde');
    assert.equal(ks({ sortOrder: 1 }), 'abcde');
    assert.equal(ks({ sortOrder: 2 }), 'edcba');
    assert.equal(ks({ sortTarget: 1 }), 'acdeb'); // VERSION, NONE → ascending, ties in key order
    assert.equal(ks({ sortTarget: 1, sortOrder: 2 }), 'bacde');
    assert.equal(ks({ sortTarget: 2, sortOrder: 2 }), 'edcba'); // CREATE
    assert.equal(ks({ sortTarget: 3, sortOrder: 1 }), 'acdeb'); // MOD
    assert.equal(ks({ sortTarget: 3, sortOrder: 2 }), 'bedca');
    assert.equal(ks({ sortTarget: 4, sortOrder: 1 }), 'bacde'); // VALUE: v2 < va < vc ...
    assert.equal(ks({ sortTarget: 4, sortOrder: 2 }), 'edcab');
    // etcd: sort VERSION (NONE) limit 1 → a, more, count 5; MOD DESC limit 2 → b, e
    assert.deepEqual(rng(f, { end: 'z', sortTarget: 1, limit: 1, keysOnly: true }), { kvs: ['a=@2/2/v1'], more: true, count: 5, rev: 7 });
    assert.equal(ks({ sortTarget: 3, sortOrder: 2, limit: 2 }), 'be');
    assert.equal(ks({ sortTarget: 2, sortOrder: 2, limit: 2 }), 'ed'); // the two newest
    // keys_only still sorts by value, then drops it
    assert.deepEqual(rng(f, { end: 'z', sortTarget: 4, limit: 1, keysOnly: true }).kvs, ['b=@3/7/v2']);
  });
});

test('D4 keys_only drops only the value; count_only returns only the count', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', 'value', { lease: 9n }));
    const r = f.store.range(rangeReq('k', { keysOnly: true }));
    assert.equal(show(r.kvs[0]), 'k=@2/2/v1+L9');
    assert.equal(r.kvs[0]!.value.length, 0);
    const c = f.store.range(rangeReq('k', { countOnly: true }));
    assert.deepEqual({ kvs: c.kvs, more: c.more, count: c.count }, { kvs: [], more: false, count: 1 });
  });
});

test('historical reads: revision > 0 reads that revision, the header keeps the current one; negative = current', async () => {
  await withFixture(async (f) => {
    await abcde(f);
    // etcd: full range at revision 3 → a(2/2), b(3/3), count 2, header 7
    assert.deepEqual(rng(f, { end: ZERO, revision: 3, keysOnly: true }, '\0'), { kvs: ['a=@2/2/v1', 'b=@3/3/v1'], more: false, count: 2, rev: 7 });
    assert.deepEqual(rng(f, { revision: 6 }, 'b').kvs, ['b=vb@3/3/v1']);
    assert.deepEqual(rng(f, { revision: 7 }, 'b').kvs, ['b=v2@3/7/v2']);
    assert.deepEqual(rng(f, { revision: 1 }, 'b').kvs, []);
    assert.deepEqual(rng(f, { revision: -5 }, 'a').kvs, ['a=va@2/2/v1']);
    // historical with limit / sort / count_only / filters
    assert.deepEqual(rng(f, { end: 'z', revision: 5, limit: 2, keysOnly: true }), { kvs: ['a=@2/2/v1', 'b=@3/3/v1'], more: true, count: 4, rev: 7 });
    assert.deepEqual(rng(f, { end: 'z', revision: 5, limit: 1, sortOrder: 2, keysOnly: true }).kvs, ['d=@5/5/v1']);
    assert.equal(rng(f, { end: 'z', revision: 4, countOnly: true }).count, 3);
    assert.deepEqual(rng(f, { end: 'z', revision: 6, minCreateRevision: 5, keysOnly: true }).kvs, ['d=@5/5/v1', 'e=@6/6/v1']);
  });
});

test('historical reads across delete and re-create see each generation', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('k', '1')); // 2
    await f.ok(w.put('k', '2')); // 3
    await f.ok(w.del('k')); // 4
    await f.ok(w.put('k', '3')); // 5
    await f.ok(w.put('j', 'x')); // 6
    const at = (rev: number): string[] => rng(f, { end: 'z', revision: rev }, 'a').kvs;
    assert.deepEqual(at(2), ['k=1@2/2/v1']);
    assert.deepEqual(at(3), ['k=2@2/3/v2']);
    assert.deepEqual(at(4), []);
    assert.deepEqual(at(5), ['k=3@5/5/v1']);
    assert.deepEqual(at(6), ['j=x@6/6/v1', 'k=3@5/5/v1']);
  });
});

test('future revisions are FUTURE_REV; below the compact revision COMPACTED; at it, readable', async () => {
  await withFixture(async (f) => {
    await abcde(f);
    assert.equal(code(() => f.store.range(rangeReq('a', { revision: 8 }))), 'FUTURE_REV');
    await f.ok(w.compact(3));
    assert.equal(code(() => f.store.range(rangeReq('a', { revision: 2 }))), 'COMPACTED');
    assert.equal(code(() => f.store.range(rangeReq('a', { revision: 1 }))), 'COMPACTED');
    assert.deepEqual(rng(f, { revision: 3 }).kvs, ['a=va@2/2/v1']);
    assert.equal(code(() => f.store.range(rangeReq('a', { revision: 8, countOnly: true }))), 'FUTURE_REV');
    assert.equal(code(() => f.store.range(rangeReq('a', { revision: 2, countOnly: true }))), 'COMPACTED');
  });
});

test('binary keys with zero and 0xff bytes range and sort bytewise', async () => {
  await withFixture(async (f) => {
    const keys = [Uint8Array.of(0x61), Uint8Array.of(0x61, 0), Uint8Array.of(0x61, 0, 0), Uint8Array.of(0x61, 0, 0xff), Uint8Array.of(0x61, 1), Uint8Array.of(0x61, 0xff), Uint8Array.of(0x62)];
    for (const k of [...keys].reverse()) await f.do({ type: 'put', put: { key: k, value: k, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
    const hex = (r: { kvs: { key: Uint8Array }[] }): string[] => r.kvs.map((kv) => Buffer.from(kv.key).toString('hex'));
    assert.deepEqual(hex(f.store.range(rangeReq(Uint8Array.of(0x61), { end: Uint8Array.of(0x62) }))), ['61', '6100', '610000', '6100ff', '6101', '61ff']);
    assert.deepEqual(hex(f.store.range(rangeReq(Uint8Array.of(0x61, 0), { end: Uint8Array.of(0x61, 1) }))), ['6100', '610000', '6100ff']);
    assert.deepEqual(hex(f.store.range(rangeReq(Uint8Array.of(0x61, 0), { end: Uint8Array.of(0x61, 1), revision: 5 }))), ['6100ff']);
    assert.deepEqual(hex(f.store.range(rangeReq(Uint8Array.of(0x61, 0), { end: Uint8Array.of(0x61, 1), sortOrder: 2 }))), ['6100ff', '610000', '6100']);
    assert.deepEqual([...f.store.range(rangeReq(Uint8Array.of(0x61, 0, 0))).kvs[0]!.value], [0x61, 0, 0]);
  });
});

test('unknown sort enums are misuse: TypeError, not a crash or a silent default', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('a', '1'));
    assert.throws(() => f.store.range(rangeReq('a', { sortTarget: 9 as RangeRequest['sortTarget'] })), TypeError);
    assert.throws(() => f.store.range(rangeReq('a', { sortOrder: 7 as RangeRequest['sortOrder'] })), TypeError);
    assert.throws(() => f.store.range(rangeReq('')), MvccError);
  });
});
