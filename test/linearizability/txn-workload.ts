// L2 multi-key operations for the fault runs (fault-run.ts, `--workload txn`): over a few keys
// sharing a prefix, a client issues
//  - mget: one atomic read of every key, as a txn of ranges or as one range over the prefix;
//  - txn: compares on 0–2 keys (value, or mod revision; mod 0 = absent), and when they hold puts
//    on 2–3 keys (sometimes a delete among them) at one revision; the failure branch reads every
//    key, so a failed txn is a read too.
// Each is recorded as one operation over several keys (history.ts); the checker searches the keys
// as one group (linearizability.ts), so keep the key set small (3) and the runs short.
import { type KvClient, putRequest, rangeRequest, deleteRangeRequest } from '../../src/client/index.js';
import { CompareResult, CompareTarget, type Compare, type KeyValue, type RequestOp, type ResponseOp } from '../../src/wire/index.js';
import type { HistoryRecorder, Operation, TxnCompare, TxnWrite } from '../harness/history.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The last value (and its mod revision) this client saw per key; a key missing here is taken as absent. */
export type Seen = Map<string, { value: string; rev: number }>;

export interface TxnContext {
  rec: HistoryRecorder;
  client: number;
  member: string;
  kv: KvClient;
  rnd: () => number;
  /** The keys (all under `prefix`, and the only keys there). */
  keys: string[];
  prefix: string;
  seen: Seen;
  nextValue: () => string;
  onError: (op: Operation, e: unknown) => void;
  /** mget as a serializable (local) range: not linearizable, for showing the checker catches it. */
  serializable?: boolean;
}

/** The first key after every key starting with `prefix` (etcd's prefix range end). */
function prefixEnd(prefix: string): Uint8Array {
  const b = enc(prefix);
  b[b.length - 1]! += 1;
  return b;
}

function pick<T>(rnd: () => number, from: readonly T[], n: number): T[] {
  const pool = [...from];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]!);
  return out;
}

/** Values and mod revisions (0: absent) of `keys` from the key-values a read returned. */
function valuesOf(keys: string[], kvs: readonly KeyValue[]): { values: Array<string | null>; mods: number[] } {
  const by = new Map(kvs.map((kv) => [dec(kv.key), kv]));
  return { values: keys.map((k) => (by.has(k) ? dec(by.get(k)!.value) : null)), mods: keys.map((k) => by.get(k)?.modRevision ?? 0) };
}

function rangesOf(responses: readonly ResponseOp[]): KeyValue[] {
  return responses.flatMap((r) => (r.type === 'range' ? r.range.kvs : []));
}

function remember(seen: Seen, keys: string[], values: Array<string | null>, mods: number[]): void {
  keys.forEach((k, j) => {
    const v = values[j] ?? null;
    if (v === null) seen.delete(k);
    else seen.set(k, { value: v, rev: mods[j]! });
  });
}

const label = (prefix: string): string => `${prefix}*`;

/** One multi-key operation, recorded. */
export async function txnOperation(x: TxnContext): Promise<void> {
  const { rec, rnd, keys } = x;
  const readAll: RequestOp[] = keys.map((k) => ({ type: 'range', range: rangeRequest({ key: enc(k) }) }));
  if (rnd() < 0.35) {
    const viaPrefix = rnd() < 0.5 || x.serializable === true;
    const op = rec.invoke(x.client, label(x.prefix), { f: 'mget', keys }, x.member);
    try {
      let kvs: KeyValue[];
      let revision: number;
      if (viaPrefix) {
        const res = await x.kv.range({ key: enc(x.prefix), rangeEnd: prefixEnd(x.prefix), serializable: x.serializable ?? false });
        kvs = res.kvs;
        revision = res.header.revision;
      } else {
        const res = await x.kv.txn({ compare: [], success: readAll, failure: [] });
        kvs = rangesOf(res.responses);
        revision = res.header.revision;
      }
      const { values, mods } = valuesOf(keys, kvs);
      rec.ok(op, { f: 'mget', values, mods }, revision);
      remember(x.seen, keys, values, mods);
    } catch (e) {
      x.onError(op, e);
    }
    return;
  }
  const r = rnd();
  const compareKeys = pick(rnd, keys, r < 0.2 ? 0 : r < 0.7 ? 1 : 2);
  const compare: TxnCompare[] = compareKeys.map((key) => {
    const s = x.seen.get(key);
    if (s === undefined) return { key, kind: 'mod', expectRev: 0, expect: null };
    return rnd() < 0.5 ? { key, kind: 'value', expect: s.value } : { key, kind: 'mod', expectRev: s.rev, expect: s.value };
  });
  const writeKeys = pick(rnd, keys, rnd() < 0.5 ? 2 : 3);
  // At most one delete, and never only deletes: every successful txn then writes, at one new revision.
  const del = rnd() < 0.3 ? Math.floor(rnd() * writeKeys.length) : -1;
  const writes: TxnWrite[] = writeKeys.map((key, j) => ({ key, value: j === del ? null : x.nextValue() }));
  const wire: Compare[] = compare.map((c) =>
    c.kind === 'value'
      ? { key: enc(c.key), rangeEnd: new Uint8Array(0), target: CompareTarget.VALUE, result: CompareResult.EQUAL, operand: { kind: 'value', value: enc(c.expect) } }
      : { key: enc(c.key), rangeEnd: new Uint8Array(0), target: CompareTarget.MOD, result: CompareResult.EQUAL, operand: { kind: 'modRevision', modRevision: c.expectRev } },
  );
  const success: RequestOp[] = writes.map((w) =>
    w.value === null
      ? { type: 'deleteRange', deleteRange: deleteRangeRequest({ key: enc(w.key) }) }
      : { type: 'put', put: putRequest({ key: enc(w.key), value: enc(w.value) }) },
  );
  const op = rec.invoke(x.client, label(x.prefix), { f: 'txn', compare, writes, reads: keys }, x.member);
  try {
    const res = await x.kv.txn({ compare: wire, success, failure: readAll });
    if (res.succeeded) {
      rec.ok(op, { f: 'txn', ok: true }, res.header.revision);
      for (const w of writes) {
        if (w.value === null) x.seen.delete(w.key);
        else x.seen.set(w.key, { value: w.value, rev: res.header.revision });
      }
    } else {
      const { values, mods } = valuesOf(keys, rangesOf(res.responses));
      rec.ok(op, { f: 'txn', ok: false, values, mods }, res.header.revision);
      remember(x.seen, keys, values, mods);
    }
  } catch (e) {
    x.onError(op, e);
  }
}
