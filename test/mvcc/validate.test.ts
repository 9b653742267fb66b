import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RangeRequest, RequestOp, TxnRequest } from '../../src/wire/index.js';
import {
  MvccError,
  MAX_KEY_LENGTH,
  validateDeleteRange,
  validatePut,
  validateRange,
  validateTxn,
} from '../../src/mvcc/index.js';
import { cmp, delReq, op, putReq, rangeReq, txnReq, ZERO } from './helpers.js';

function code(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof MvccError) return e.code;
    if (e instanceof TypeError) return 'TypeError';
    throw e;
  }
  return 'ok';
}

const ranges = (n: number): RequestOp[] => Array.from({ length: n }, (_, i) => op.range(rangeReq(`k${i}`)));

test('range: empty key is KEY_NOT_PROVIDED; unknown enums and non-integers are misuse (TypeError)', () => {
  assert.equal(code(() => validateRange(rangeReq('a'))), 'ok');
  assert.equal(code(() => validateRange(rangeReq(''))), 'KEY_NOT_PROVIDED');
  assert.equal(code(() => validateRange(rangeReq('', { end: ZERO }))), 'KEY_NOT_PROVIDED');
  assert.equal(code(() => validateRange(rangeReq('a', { sortTarget: 9 as RangeRequest['sortTarget'] }))), 'TypeError');
  assert.equal(code(() => validateRange(rangeReq('a', { sortOrder: 7 as RangeRequest['sortOrder'] }))), 'TypeError');
  assert.equal(code(() => validateRange(rangeReq('a', { limit: 1.5 }))), 'TypeError');
  assert.equal(code(() => validateRange(rangeReq('a', { revision: Number.NaN }))), 'TypeError');
  assert.equal(code(() => validateRange(rangeReq('a', { limit: -1, revision: -3 }))), 'ok');
});

test('put: KEY_NOT_PROVIDED, VALUE_PROVIDED with ignore_value, LEASE_PROVIDED with ignore_lease', () => {
  assert.equal(code(() => validatePut(putReq('a', 'v', { lease: 5n }))), 'ok');
  assert.equal(code(() => validatePut(putReq('', 'v'))), 'KEY_NOT_PROVIDED');
  assert.equal(code(() => validatePut(putReq('a', 'v', { ignoreValue: true }))), 'VALUE_PROVIDED');
  assert.equal(code(() => validatePut(putReq('a', '', { ignoreValue: true, lease: 5n }))), 'ok');
  assert.equal(code(() => validatePut(putReq('a', 'v', { ignoreLease: true, lease: 1n }))), 'LEASE_PROVIDED');
  assert.equal(code(() => validatePut(putReq('a', 'v', { ignoreLease: true }))), 'ok');
  // etcd checks the key first, then the value, then the lease.
  assert.equal(code(() => validatePut(putReq('', 'v', { ignoreValue: true, ignoreLease: true, lease: 1n }))), 'KEY_NOT_PROVIDED');
  assert.equal(code(() => validatePut(putReq('a', 'v', { ignoreValue: true, ignoreLease: true, lease: 1n }))), 'VALUE_PROVIDED');
});

test('delete range: empty key is KEY_NOT_PROVIDED', () => {
  assert.equal(code(() => validateDeleteRange(delReq('a', 'b'))), 'ok');
  assert.equal(code(() => validateDeleteRange(delReq(''))), 'KEY_NOT_PROVIDED');
});

test('keys and range ends longer than the key index can hold are REQUEST_TOO_LARGE', () => {
  const max = new Uint8Array(MAX_KEY_LENGTH).fill(0x61);
  const over = new Uint8Array(MAX_KEY_LENGTH + 1).fill(0x61);
  // Zero bytes are escaped to two bytes, so they count twice.
  const zeros = new Uint8Array(MAX_KEY_LENGTH / 2 + 1);
  assert.equal(code(() => validatePut(putReq(max, 'v'))), 'ok');
  assert.equal(code(() => validatePut(putReq(over, 'v'))), 'REQUEST_TOO_LARGE');
  assert.equal(code(() => validatePut(putReq(zeros, 'v'))), 'REQUEST_TOO_LARGE');
  assert.equal(code(() => validateRange(rangeReq('a', { end: over }))), 'REQUEST_TOO_LARGE');
  assert.equal(code(() => validateDeleteRange(delReq(over))), 'REQUEST_TOO_LARGE');
  assert.equal(code(() => validateTxn(txnReq([cmp('a', 0, 0, { kind: 'none' }, over)], []))), 'REQUEST_TOO_LARGE');
});

test('txn: more than maxTxnOps in compare, success or failure (each separately) is TOO_MANY_OPS', () => {
  assert.equal(code(() => validateTxn(txnReq([], ranges(128), ranges(128)))), 'ok');
  assert.equal(code(() => validateTxn(txnReq([], ranges(129)))), 'TOO_MANY_OPS');
  assert.equal(code(() => validateTxn(txnReq([], [], ranges(129)))), 'TOO_MANY_OPS');
  const compares = Array.from({ length: 129 }, (_, i) => cmp(`k${i}`, 0, 0, { kind: 'version', version: 0 }));
  assert.equal(code(() => validateTxn(txnReq(compares, []))), 'TOO_MANY_OPS');
  assert.equal(code(() => validateTxn(txnReq([], ranges(3)), 3)), 'ok');
  assert.equal(code(() => validateTxn(txnReq([], ranges(4)), 3)), 'TOO_MANY_OPS');
});

test('D3 txn: a nested txn gets the ops its parent left (etcd: 99 ranges + a txn of 28 passes, of 29 fails)', () => {
  const withNested = (n: number): TxnRequest => txnReq([], [...ranges(99), op.txn(txnReq([], ranges(n)))]);
  assert.equal(code(() => validateTxn(withNested(28))), 'ok');
  assert.equal(code(() => validateTxn(withNested(29))), 'TOO_MANY_OPS');
});

test('txn: {} op is KEY_NOT_FOUND; a compare or op with an empty key is KEY_NOT_PROVIDED; checks recurse', () => {
  assert.equal(code(() => validateTxn(txnReq([], [op.none()]))), 'KEY_NOT_FOUND');
  assert.equal(code(() => validateTxn(txnReq([], [], [op.none()]))), 'KEY_NOT_FOUND');
  assert.equal(code(() => validateTxn(txnReq([cmp('', 3, 0, { kind: 'none' })], []))), 'KEY_NOT_PROVIDED');
  assert.equal(code(() => validateTxn(txnReq([], [op.put(putReq(''))]))), 'KEY_NOT_PROVIDED');
  assert.equal(code(() => validateTxn(txnReq([], [op.txn(txnReq([], [op.none()]))]))), 'KEY_NOT_FOUND');
  assert.equal(code(() => validateTxn(txnReq([], [op.txn(txnReq([], [op.put(putReq('a', 'v', { ignoreValue: true }))]))]))), 'VALUE_PROVIDED');
  assert.equal(code(() => validateTxn(txnReq([cmp('a', 9 as 0, 0, { kind: 'none' })], []))), 'TypeError');
  assert.equal(code(() => validateTxn(txnReq([cmp('a', 0, 7 as 0, { kind: 'none' })], []))), 'TypeError');
  assert.equal(code(() => validateTxn(txnReq([], []))), 'ok');
});

test('txn: a key written twice in one branch is DUPLICATE_KEY; the same key in success and failure is fine', () => {
  const put = (k: string): RequestOp => op.put(putReq(k, 'v'));
  const del = (k: string, e?: string | Uint8Array): RequestOp => op.del(delReq(k, e));
  const dup = (ops: RequestOp[]): string => code(() => validateTxn(txnReq([], ops)));
  assert.equal(dup([put('a'), put('a')]), 'DUPLICATE_KEY');
  assert.equal(dup([put('b'), del('a', 'c')]), 'DUPLICATE_KEY');
  assert.equal(dup([del('a', 'c'), put('b')]), 'DUPLICATE_KEY');
  assert.equal(dup([put('b'), del('b')]), 'DUPLICATE_KEY');
  assert.equal(dup([put('c'), del('a', 'c')]), 'ok'); // the end is exclusive
  assert.equal(dup([put('b'), del('c', 'a')]), 'ok'); // range_end <= key deletes nothing
  assert.equal(dup([del('a', 'c'), del('b')]), 'ok'); // overlapping deletes are allowed
  assert.equal(dup([put('a'), put('b'), op.range(rangeReq('a'))]), 'ok');
  assert.equal(code(() => validateTxn(txnReq([], [put('a')], [put('a')]))), 'ok');
  // Nested: puts of both branches of a nested txn count against the parent branch.
  const nested = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => op.txn(txnReq([], success, failure));
  assert.equal(dup([put('a'), nested([put('a')])]), 'DUPLICATE_KEY');
  assert.equal(dup([put('a'), nested([], [put('a')])]), 'DUPLICATE_KEY');
  assert.equal(dup([nested([put('a')], [put('a')])]), 'ok');
  assert.equal(dup([nested([put('a')]), nested([put('a')])]), 'DUPLICATE_KEY');
  assert.equal(dup([del('a', 'z'), nested([put('b')])]), 'DUPLICATE_KEY');
  assert.equal(dup([nested([del('a', 'z')]), put('b')]), 'DUPLICATE_KEY');
  assert.equal(dup([nested([nested([put('q')])]), put('q')]), 'DUPLICATE_KEY');
  // Duplicates are checked per branch, after the shape checks.
  assert.equal(code(() => validateTxn(txnReq([], [put('a'), put('a')], [op.none()]))), 'KEY_NOT_FOUND');
});

test('txn: a delete with range_end "\\0" covers every key from its key on (stricter than etcd 3.4)', () => {
  const dup = (ops: RequestOp[]): string => code(() => validateTxn(txnReq([], ops)));
  assert.equal(dup([op.put(putReq('b', 'v')), op.del(delReq('a', ZERO))]), 'DUPLICATE_KEY');
  assert.equal(dup([op.del(delReq('a', ZERO)), op.put(putReq('x', '', { ignoreValue: true }))]), 'DUPLICATE_KEY');
  assert.equal(dup([op.put(putReq('a', 'v')), op.del(delReq('b', ZERO))]), 'ok');
});
