// Stateless request checks, run before a request is proposed and again when it is applied (they
// are deterministic, so every member reaches the same verdict). They follow etcd 3.4's
// checkRangeRequest / checkPutRequest / checkDeleteRequest / checkTxnRequest / checkIntervals,
// with two deliberate differences, both to refuse requests etcd mishandles:
//   1. Keys and range ends longer than the key index can hold are REQUEST_TOO_LARGE (etcd has no
//      such limit short of the request size). See MAX_KEY_LENGTH.
//   2. In the duplicate-key rule a delete with range_end "\0" covers every key >= its key. etcd
//      3.4 treats it as an empty interval, so `txn{ del [a, \0); put x ignore_value }` passes
//      validation there and then panics the apply loop when x existed (observed; member bricked).
// Values that no decoder can produce (unknown enum numbers, non-integer counters, non-Uint8Array
// bytes) are misuse and throw TypeError.
import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../wire/index.js';
import { MAX_KEY_BYTES } from '../storage/index.js';
import { MvccError } from './errors.js';
import { byteKey, compareBytes, equalBytes } from './bytes.js';

export const DEFAULT_MAX_TXN_OPS = 128;

/**
 * The longest key (and range end) accepted, in bytes, counting each zero byte twice. It is what
 * LMDB's key limit left after the 18 bytes of framing of the on-disk key index of mvcc format 1;
 * the index is in memory now, but the limit stays, so that every key a client could store before
 * it still can and none more (lease and tenant tables still key on user keys).
 */
export const MAX_KEY_LENGTH = MAX_KEY_BYTES - 18;

function checkBytes(u: unknown, what: string): asserts u is Uint8Array {
  if (!(u instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

function checkInt(n: unknown, what: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TypeError(`${what} must be a safe integer`);
}

function checkEnum(n: unknown, max: number, what: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new TypeError(`unknown ${what} ${String(n)}`);
  }
}

function checkKeySize(key: Uint8Array): void {
  let n = key.length;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) n++;
  if (n > MAX_KEY_LENGTH) throw new MvccError('REQUEST_TOO_LARGE');
}

/** Checks key and range end the way every request kind shares. */
function checkKeyAndEnd(key: unknown, rangeEnd: unknown): void {
  checkBytes(key, 'key');
  checkBytes(rangeEnd, 'range_end');
  if (key.length === 0) throw new MvccError('KEY_NOT_PROVIDED');
  checkKeySize(key);
  checkKeySize(rangeEnd);
}

export function validateRange(r: RangeRequest): void {
  checkInt(r.limit, 'limit');
  checkInt(r.revision, 'revision');
  checkInt(r.minModRevision, 'min_mod_revision');
  checkInt(r.maxModRevision, 'max_mod_revision');
  checkInt(r.minCreateRevision, 'min_create_revision');
  checkInt(r.maxCreateRevision, 'max_create_revision');
  checkEnum(r.sortOrder, 2, 'sort_order');
  checkEnum(r.sortTarget, 4, 'sort_target');
  checkKeyAndEnd(r.key, r.rangeEnd);
}

export function validatePut(r: PutRequest): void {
  checkBytes(r.key, 'key');
  checkBytes(r.value, 'value');
  if (typeof r.lease !== 'bigint') throw new TypeError('lease must be a bigint');
  if (r.key.length === 0) throw new MvccError('KEY_NOT_PROVIDED');
  if (r.ignoreValue && r.value.length !== 0) throw new MvccError('VALUE_PROVIDED');
  if (r.ignoreLease && r.lease !== 0n) throw new MvccError('LEASE_PROVIDED');
  checkKeySize(r.key);
}

export function validateDeleteRange(r: DeleteRangeRequest): void {
  checkKeyAndEnd(r.key, r.rangeEnd);
}

function validateCompare(c: Compare): void {
  checkEnum(c.target, 4, 'compare target');
  checkEnum(c.result, 3, 'compare result');
  const op = c.operand;
  switch (op.kind) {
    case 'none':
      break;
    case 'version':
      checkInt(op.version, 'compare version');
      break;
    case 'createRevision':
      checkInt(op.createRevision, 'compare create_revision');
      break;
    case 'modRevision':
      checkInt(op.modRevision, 'compare mod_revision');
      break;
    case 'value':
      checkBytes(op.value, 'compare value');
      break;
    case 'lease':
      if (typeof op.lease !== 'bigint') throw new TypeError('compare lease must be a bigint');
      break;
    default:
      throw new TypeError(`unknown compare operand ${(op as { kind: unknown }).kind as string}`);
  }
  checkKeyAndEnd(c.key, c.rangeEnd);
}

/**
 * etcd's checkTxnRequest then checkIntervals on each branch. The op limit applies to compare,
 * success and failure separately; a nested txn gets what its parent's largest list left over
 * (maxTxnOps - max(len(compare), len(success), len(failure))), as in etcd.
 */
export function validateTxn(r: TxnRequest, maxTxnOps: number = DEFAULT_MAX_TXN_OPS): void {
  checkTxnShape(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnShape(r: TxnRequest, maxTxnOps: number): void {
  if (!Array.isArray(r.compare) || !Array.isArray(r.success) || !Array.isArray(r.failure)) {
    throw new TypeError('txn compare/success/failure must be arrays');
  }
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw new MvccError('TOO_MANY_OPS');
  for (const c of r.compare) validateCompare(c);
  for (const op of r.success) checkOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkOp(op, maxTxnOps - opc);
}

function checkOp(op: RequestOp, maxTxnOps: number): void {
  switch (op.type) {
    case 'range':
      return validateRange(op.range);
    case 'put':
      return validatePut(op.put);
    case 'deleteRange':
      return validateDeleteRange(op.deleteRange);
    case 'txn':
      return checkTxnShape(op.txn, maxTxnOps);
    case 'none':
      throw new MvccError('KEY_NOT_FOUND');
    default:
      throw new TypeError(`unknown request op ${(op as { type: unknown }).type as string}`);
  }
}

/** A deleted key interval: [start, end), `end` undefined = unbounded; `point` = exactly start. */
interface DelInterval {
  start: Uint8Array;
  end: Uint8Array | undefined;
  point: boolean;
}

function covers(d: DelInterval, key: Uint8Array): boolean {
  if (d.point) return equalBytes(d.start, key);
  return compareBytes(d.start, key) <= 0 && (d.end === undefined || compareBytes(key, d.end) < 0);
}

function anyCovers(dels: DelInterval[], key: Uint8Array): boolean {
  for (const d of dels) if (covers(d, key)) return true;
  return false;
}

/**
 * etcd's checkIntervals: within one branch no key may be written twice, where puts of a nested
 * txn's success and failure branches both count (only one runs, so a key in both is fine).
 * Returns the branch's puts and deletes for the parent's check.
 */
function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: DelInterval[] } {
  const dels: DelInterval[] = [];
  for (const op of ops) {
    if (op.type !== 'deleteRange') continue;
    const { key, rangeEnd } = op.deleteRange;
    if (rangeEnd.length === 0) dels.push({ start: key, end: undefined, point: true });
    else if (rangeEnd.length === 1 && rangeEnd[0] === 0) dels.push({ start: key, end: undefined, point: false });
    else dels.push({ start: key, end: rangeEnd, point: false });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.type !== 'txn') continue;
    const then = checkIntervals(op.txn.success);
    const otherwise = checkIntervals(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || anyCovers(dels, Buffer.from(k, 'latin1'))) throw new MvccError('DUPLICATE_KEY');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new MvccError('DUPLICATE_KEY');
      if (anyCovers(dels, Buffer.from(k, 'latin1'))) throw new MvccError('DUPLICATE_KEY');
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const k = byteKey(op.put.key);
    if (puts.has(k) || anyCovers(dels, op.put.key)) throw new MvccError('DUPLICATE_KEY');
    puts.add(k);
  }
  return { puts, dels };
}
