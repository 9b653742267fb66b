import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyMapper,
  compareToInternal,
  deleteRangeRequestToInternal,
  deleteRangeResponseToExternal,
  isTenantError,
  leaseTimeToLiveResponseToExternal,
  putRequestToInternal,
  putResponseToExternal,
  rangeRequestToInternal,
  rangeResponseToExternal,
  txnRequestToInternal,
  txnResponseToExternal,
  watchCreateToInternal,
  watchResponseToExternal,
} from '../../src/tenants/index.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn, MvccError } from '../../src/mvcc/index.js';
import {
  CompareResult,
  CompareTarget,
  EventType,
  WatchFilterType,
  type KeyValue,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
  type WatchResponse,
} from '../../src/wire/index.js';
import { delReq, op, putReq, rangeReq } from '../mvcc/helpers.js';
import { b, s } from './helpers.js';

// Request and response translation over the wire types (src/tenants/translate.ts): every key a
// request names goes in with the tenant prefix, every key a response carries comes out without it,
// at full txn depth (GUARANTEES A1-A4, A6, A7), and nothing else changes.

const m = new KeyMapper('acme');
const header: ResponseHeader = { clusterId: 1n, memberId: 2n, revision: 9, raftTerm: 3 };
const kv = (key: string, value = 'v', o: Partial<KeyValue> = {}): KeyValue => ({
  key: b(key),
  value: b(value),
  createRevision: 2,
  modRevision: 5,
  version: 3,
  lease: 0n,
  ...o,
});
const notProvided = (e: unknown): boolean => e instanceof MvccError && e.code === 'KEY_NOT_PROVIDED';
const outside = (e: unknown): boolean => isTenantError(e, 'OUTSIDE_TENANT');

test('range request: key and range_end translated, every other field kept, the input untouched', () => {
  const req = rangeReq(b('a'), { end: b('\0'), limit: 7, revision: 4, keysOnly: true, countOnly: false, serializable: true, sortOrder: 2, sortTarget: 4, minModRevision: 1, maxCreateRevision: 8 });
  const before = structuredClone(req);
  const out = rangeRequestToInternal(m, req);
  assert.deepEqual(req, before, 'input not mutated');
  assert.deepEqual({ ...out, key: s(out.key), rangeEnd: s(out.rangeEnd) }, { ...req, key: '/t/acme/a', rangeEnd: '/t/acme0' });
});

test('A1: an empty key stays empty with no range end, so validation answers etcd\'s "key is not provided"', () => {
  for (const end of ['', '\0', 'z']) {
    const r = rangeRequestToInternal(m, rangeReq(b(''), { end: b(end) }));
    assert.deepEqual([s(r.key), s(r.rangeEnd)], ['', ''], JSON.stringify(end));
    assert.throws(() => validateRange(r), notProvided);
    const d = deleteRangeRequestToInternal(m, delReq(b(''), b(end)));
    assert.deepEqual([s(d.key), s(d.rangeEnd)], ['', '']);
    assert.throws(() => validateDeleteRange(d), notProvided);
  }
  const p = putRequestToInternal(m, putReq(b(''), 'v'));
  assert.equal(p.key.length, 0);
  assert.throws(() => validatePut(p), notProvided);
});

test('put request: key translated; value, lease, prev_kv and ignore flags kept', () => {
  const req = putReq('k', '/t/acme2/looks-like-a-key', { lease: 77n, prevKv: true });
  const out = putRequestToInternal(m, req);
  assert.equal(s(out.key), '/t/acme/k');
  assert.equal(s(out.value), '/t/acme2/looks-like-a-key', 'values are not keys');
  assert.equal(out.lease, 77n);
  assert.equal(out.prevKv, true);
  const ig = putRequestToInternal(m, putReq('k', '', { ignoreValue: true, ignoreLease: true }));
  assert.equal(ig.ignoreValue, true);
  assert.equal(ig.ignoreLease, true);
});

test('delete range with prev_kv: range translated; "\\0" end stops at the tenant edge', () => {
  const out = deleteRangeRequestToInternal(m, delReq('a', '\0', true));
  assert.deepEqual([s(out.key), s(out.rangeEnd), out.prevKv], ['/t/acme/a', '/t/acme0', true]);
});

test('A2: txn compares translated with their range ends; operands kept', () => {
  const c = { key: b('a'), rangeEnd: b('\0'), target: CompareTarget.VALUE, result: CompareResult.EQUAL, operand: { kind: 'value' as const, value: b('/t/x/') } };
  const out = compareToInternal(m, c);
  assert.deepEqual([s(out.key), s(out.rangeEnd)], ['/t/acme/a', '/t/acme0']);
  assert.deepEqual(out.operand, c.operand);
  assert.equal(out.target, c.target);
  const empty = compareToInternal(m, { ...c, key: b('') });
  assert.deepEqual([s(empty.key), s(empty.rangeEnd)], ['', '']);
});

/** A txn nested `depth` deep, with a compare and one op of each kind at every level. */
function nested(depth: number, withNone = true): TxnRequest {
  const level = (d: number): TxnRequest => ({
    compare: [{ key: b(`c${d}`), rangeEnd: b(d % 2 === 0 ? '\0' : ''), target: CompareTarget.MOD, result: CompareResult.LESS, operand: { kind: 'modRevision', modRevision: d } }],
    success: [op.put(putReq(`p${d}`, 'x', { prevKv: true })), op.range(rangeReq(`r${d}`, { end: '\0' })), ...(d < depth ? [op.txn(level(d + 1))] : [])],
    failure: [op.del(delReq(`d${d}`, `d${d}z`, true)), ...(withNone ? [op.none()] : [])],
  });
  return level(1);
}

function keysOfTxn(t: TxnRequest, out: string[] = []): string[] {
  for (const c of t.compare) out.push(s(c.key), s(c.rangeEnd));
  const walk = (ops: RequestOp[]): void => {
    for (const o of ops) {
      if (o.type === 'put') out.push(s(o.put.key));
      else if (o.type === 'range') out.push(s(o.range.key), s(o.range.rangeEnd));
      else if (o.type === 'deleteRange') out.push(s(o.deleteRange.key), s(o.deleteRange.rangeEnd));
      else if (o.type === 'txn') keysOfTxn(o.txn, out);
    }
  };
  walk(t.success);
  walk(t.failure);
  return out;
}

test('A3: nested txns translated to full depth, both branches, none ops kept (depth 12)', () => {
  const req = nested(12);
  const before = structuredClone(req);
  const out = txnRequestToInternal(m, req);
  assert.deepEqual(req, before, 'input not mutated');
  const inKeys = keysOfTxn(req);
  const outKeys = keysOfTxn(out);
  assert.equal(outKeys.length, inKeys.length);
  assert.equal(inKeys.length, 12 * 7, "2 per compare, 1 per put, 2 per range and per delete, at each level");
  outKeys.forEach((k, i) => {
    const v = inKeys[i]!;
    const want = v === '' ? '' : v === '\0' ? '/t/acme0' : `/t/acme/${v}`;
    assert.equal(k, want, `position ${i}`);
  });
  // The translated txn is still a valid txn (validation does not see a difference).
  validateTxn(txnRequestToInternal(m, nested(3, false)));
  assert.equal(out.failure[1]!.type, 'none');
});

test('A7: watch create — key and range translated, "\\0" stops at the edge, the empty key is "\\0"', () => {
  const base = { startRevision: 3, progressNotify: true, filters: [WatchFilterType.NOPUT], prevKv: true, watchId: 5, fragment: false };
  const w = watchCreateToInternal(m, { ...base, key: b('a'), rangeEnd: b('\0') });
  assert.deepEqual({ ...w, key: s(w.key), rangeEnd: s(w.rangeEnd) }, { ...base, key: '/t/acme/a', rangeEnd: '/t/acme0' });
  const all = watchCreateToInternal(m, { ...base, key: b(''), rangeEnd: b('\0') });
  assert.deepEqual([s(all.key), s(all.rangeEnd)], ['/t/acme/\0', '/t/acme0']);
  const one = watchCreateToInternal(m, { ...base, key: b(''), rangeEnd: b('') });
  assert.deepEqual([s(one.key), s(one.rangeEnd)], ['/t/acme/\0', '']);
  const pre = watchCreateToInternal(m, { ...base, key: b('\xff'), rangeEnd: b('\0') });
  assert.deepEqual([s(pre.key), s(pre.rangeEnd)], ['/t/acme/\xff', '/t/acme0']);
});

test('range response: keys stripped, values and revisions kept, count and more kept', () => {
  const res = { header, kvs: [kv('/t/acme/'), kv('/t/acme/a', '/t/acme/b'), kv('/t/acme/\xff\xff')], more: true, count: 10 };
  const out = rangeResponseToExternal(m, res);
  assert.deepEqual(out.kvs.map((x) => s(x.key)), ['', 'a', '\xff\xff']);
  assert.equal(s(out.kvs[1]!.value), '/t/acme/b');
  assert.deepEqual({ ...out, kvs: [] }, { ...res, kvs: [] });
  assert.equal(s(res.kvs[1]!.key), '/t/acme/a', 'input not mutated');
});

test('A4: put prev_kv and delete prev_kvs translated out', () => {
  assert.equal(s(putResponseToExternal(m, { header, prevKv: kv('/t/acme/k') }).prevKv!.key), 'k');
  assert.equal(putResponseToExternal(m, { header, prevKv: undefined }).prevKv, undefined);
  const d = deleteRangeResponseToExternal(m, { header, deleted: 2, prevKvs: [kv('/t/acme/a'), kv('/t/acme/b')] });
  assert.deepEqual([d.deleted, d.prevKvs.map((x) => s(x.key))], [2, ['a', 'b']]);
});

test('txn response: nested responses translated to full depth', () => {
  const leaf: TxnResponse = { header, succeeded: false, responses: [{ type: 'deleteRange', deleteRange: { header, deleted: 1, prevKvs: [kv('/t/acme/deep')] } }] };
  let t: TxnResponse = leaf;
  for (let i = 0; i < 10; i++) {
    const ops: ResponseOp[] = [
      { type: 'range', range: { header, kvs: [kv(`/t/acme/r${i}`)], more: false, count: 1 } },
      { type: 'put', put: { header, prevKv: kv(`/t/acme/p${i}`) } },
      { type: 'txn', txn: t },
    ];
    t = { header, succeeded: true, responses: ops };
  }
  let out = txnResponseToExternal(m, t);
  for (let i = 9; i >= 0; i--) {
    const [r, p, inner] = out.responses as [ResponseOp, ResponseOp, ResponseOp];
    assert.equal(r.type === 'range' && s(r.range.kvs[0]!.key), `r${i}`);
    assert.equal(p.type === 'put' && s(p.put.prevKv!.key), `p${i}`);
    assert.ok(inner.type === 'txn');
    out = inner.txn;
  }
  const last = out.responses[0]!;
  assert.equal(last.type === 'deleteRange' && s(last.deleteRange.prevKvs[0]!.key), 'deep');
  assert.equal(out.succeeded, false);
});

test('A7: watch events (kv and prev_kv, DELETE events with key only) translated; the shared event untouched', () => {
  const del: KeyValue = { key: b('/t/acme/gone'), value: new Uint8Array(0), createRevision: 0, modRevision: 8, version: 0, lease: 0n };
  const shared = { type: EventType.PUT, kv: kv('/t/acme/a', 'new'), prevKv: kv('/t/acme/a', 'old') };
  const res: WatchResponse = { header, watchId: 4, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: true, events: [shared, { type: EventType.DELETE, kv: del, prevKv: undefined }] };
  const out = watchResponseToExternal(m, res);
  assert.deepEqual(out.events.map((e) => [e.type, s(e.kv!.key), e.prevKv === undefined ? null : s(e.prevKv.key)]), [
    [EventType.PUT, 'a', 'a'],
    [EventType.DELETE, 'gone', null],
  ]);
  assert.equal(out.events[1]!.kv!.modRevision, 8);
  assert.deepEqual({ ...out, events: [] }, { ...res, events: [] });
  assert.equal(s(shared.kv.key), '/t/acme/a', 'an event shared by other watchers is not mutated');
});

test('fail closed: a response key outside the tenant throws OUTSIDE_TENANT (acme2, the prefix without slash)', () => {
  assert.throws(() => rangeResponseToExternal(m, { header, kvs: [kv('/t/acme/a'), kv('/t/acme2/a')], more: false, count: 2 }), outside);
  assert.throws(() => putResponseToExternal(m, { header, prevKv: kv('/t/acme') }), outside);
  assert.throws(() => deleteRangeResponseToExternal(m, { header, deleted: 1, prevKvs: [kv('x')] }), outside);
  const ev = { type: EventType.PUT, kv: kv('/t/acme/a'), prevKv: kv('/t/other/a') };
  assert.throws(() => watchResponseToExternal(m, { header, watchId: 1, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [ev] }), outside);
  const t: TxnResponse = { header, succeeded: true, responses: [{ type: 'txn', txn: { header, succeeded: true, responses: [{ type: 'put', put: { header, prevKv: kv('/t/b/x') } }] } }] };
  assert.throws(() => txnResponseToExternal(m, t), outside);
});

test('A6: lease time-to-live keys translated; keys outside the tenant left out', () => {
  const res = { header, id: 7n, ttl: 5, grantedTtl: 10, keys: [b('/t/acme/a'), b('/t/acme2/secret'), b('/root-key'), b('/t/acme/')] };
  const out = leaseTimeToLiveResponseToExternal(m, res);
  assert.deepEqual(out.keys.map(s), ['a', '']);
  assert.deepEqual([out.id, out.ttl, out.grantedTtl], [7n, 5, 10]);
  assert.equal(res.keys.length, 4);
});
