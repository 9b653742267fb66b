import type { KvClient } from '../client/index.js';
import {
  SortOrder,
  SortTarget,
  bytesFromString,
  bytesToString,
  encodeDeleteRangeResponse,
  encodePutResponse,
  encodeRangeResponse,
  encodeTxnResponse,
  prefixEnd,
  type KeyValue,
  type ResponseOp,
} from '../wire/index.js';
import { parseTxn } from './txn-syntax.js';

// etcdctl-like commands. Simple output follows etcdctl; `-w json` prints the response exactly as
// the HTTP/JSON API returns it (int64 as strings, bytes as base64).

export interface Output {
  /** `table` is simple for the KV commands; the cluster commands draw tables (as etcdctl). */
  format: 'simple' | 'json' | 'table';
  write(text: string): void;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const ZERO_BYTE = new Uint8Array([0]);

function rangeEndFor(key: string, rangeEnd: string | undefined, o: { prefix?: boolean; fromKey?: boolean }): Uint8Array {
  if (o.prefix && o.fromKey) throw new UsageError('--prefix and --from-key cannot be used together');
  if ((o.prefix || o.fromKey) && rangeEnd !== undefined) throw new UsageError('a range end cannot be given with --prefix or --from-key');
  if (o.prefix) return prefixEnd(bytesFromString(key));
  if (o.fromKey) return ZERO_BYTE;
  return rangeEnd === undefined ? new Uint8Array(0) : bytesFromString(rangeEnd);
}

/** The key sent: etcdctl turns an empty key with --from-key into "\0" (every key). */
function keyFor(key: string, o: { fromKey?: boolean }): Uint8Array {
  return o.fromKey === true && key === '' ? ZERO_BYTE : bytesFromString(key);
}

function intOption(name: string, text: string): number {
  if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function printKvs(out: Output, kvs: KeyValue[], valueOnly = false): void {
  // With --keys-only the value is empty and etcdctl 3.4 still prints its (empty) line (observed).
  for (const kv of kvs) {
    if (!valueOnly) out.write(bytesToString(kv.key) + '\n');
    out.write(bytesToString(kv.value) + '\n');
  }
}

const ORDERS: Record<string, SortOrder> = { ASCEND: SortOrder.ASCEND, DESCEND: SortOrder.DESCEND };
const TARGETS: Record<string, SortTarget> = {
  KEY: SortTarget.KEY,
  VERSION: SortTarget.VERSION,
  CREATE: SortTarget.CREATE,
  MODIFY: SortTarget.MOD,
  VALUE: SortTarget.VALUE,
};

export interface GetOptions {
  prefix?: boolean;
  fromKey?: boolean;
  rev: string;
  limit: string;
  order?: string;
  sortBy?: string;
  printValueOnly?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  consistency: string;
}

export async function runGet(kv: KvClient, out: Output, key: string, rangeEnd: string | undefined, o: GetOptions): Promise<void> {
  const order = o.order === undefined ? SortOrder.NONE : ORDERS[o.order.toUpperCase()];
  const target = o.sortBy === undefined ? SortTarget.KEY : TARGETS[o.sortBy.toUpperCase()];
  if (order === undefined) throw new UsageError(`--order must be ASCEND or DESCEND, got ${JSON.stringify(o.order)}`);
  if (target === undefined) throw new UsageError(`--sort-by must be one of ${Object.keys(TARGETS).join(', ')}`);
  if (o.consistency !== 'l' && o.consistency !== 's') throw new UsageError('--consistency must be l or s');
  const res = await kv.range({
    key: keyFor(key, o),
    rangeEnd: rangeEndFor(key, rangeEnd, o),
    revision: intOption('rev', o.rev),
    limit: intOption('limit', o.limit),
    sortOrder: order,
    sortTarget: target,
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    serializable: o.consistency === 's',
  });
  if (out.format === 'json') return out.write(JSON.stringify(encodeRangeResponse(res)) + '\n');
  if (o.countOnly) return out.write(`${res.count}\n`);
  printKvs(out, res.kvs, o.printValueOnly);
}

export async function runPut(
  kv: KvClient,
  out: Output,
  key: string,
  value: string | undefined,
  o: { prevKv?: boolean; lease: string; ignoreValue?: boolean; ignoreLease?: boolean },
): Promise<void> {
  if (!/^[0-9a-fA-F]+$/.test(o.lease)) throw new UsageError(`--lease must be a hexadecimal lease ID, got ${JSON.stringify(o.lease)}`);
  const res = await kv.put({
    key: bytesFromString(key),
    value: value === undefined ? new Uint8Array(0) : bytesFromString(value),
    lease: BigInt.asIntN(64, BigInt('0x' + o.lease)),
    prevKv: o.prevKv ?? false,
    ignoreValue: o.ignoreValue ?? false,
    ignoreLease: o.ignoreLease ?? false,
  });
  if (out.format === 'json') return out.write(JSON.stringify(encodePutResponse(res)) + '\n');
  out.write('OK\n');
  if (o.prevKv && res.prevKv !== undefined) printKvs(out, [res.prevKv]);
}

export async function runDel(
  kv: KvClient,
  out: Output,
  key: string,
  rangeEnd: string | undefined,
  o: { prefix?: boolean; fromKey?: boolean; prevKv?: boolean },
): Promise<void> {
  const res = await kv.deleteRange({ key: keyFor(key, o), rangeEnd: rangeEndFor(key, rangeEnd, o), prevKv: o.prevKv ?? false });
  if (out.format === 'json') return out.write(JSON.stringify(encodeDeleteRangeResponse(res)) + '\n');
  out.write(`${res.deleted}\n`);
  if (o.prevKv) printKvs(out, res.prevKvs);
}

function printResponseOp(out: Output, r: ResponseOp): void {
  switch (r.type) {
    case 'put': out.write('OK\n'); break;
    case 'deleteRange': out.write(`${r.deleteRange.deleted}\n`); break;
    case 'range': printKvs(out, r.range.kvs); break;
    case 'txn':
      out.write(r.txn.succeeded ? 'SUCCESS\n' : 'FAILURE\n');
      for (const sub of r.txn.responses) printResponseOp(out, sub);
      break;
  }
}

export async function runTxn(kv: KvClient, out: Output, script: string): Promise<void> {
  const res = await kv.txn(parseTxn(script));
  if (out.format === 'json') return out.write(JSON.stringify(encodeTxnResponse(res)) + '\n');
  out.write(res.succeeded ? 'SUCCESS\n\n' : 'FAILURE\n\n');
  for (const r of res.responses) {
    printResponseOp(out, r);
    out.write('\n');
  }
}
