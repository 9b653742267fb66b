// The state machine as Raft snapshot data: every table of the state environment (mvcc, cluster
// membership, leases, auth and tenants, applied index included, since mvcc keeps it in its own meta table), dumped from one
// read snapshot and restored in one write transaction. The format knows nothing about the tables'
// contents: it is a list of (table, key, value).
//
// Layout: "KWS1", u32 table count, then per table: u8 name length, name, u32 entry count, then per
// entry u32 key length, key, u32 value length, value. No checksum of its own: the transport checks
// a CRC over the whole snapshot body.

import { STATE_SUB_DBS, type Storage, type SubDbName } from '../storage/index.js';

/**
 * The tables that make up the replicated state (not the Raft log, which lives elsewhere): the
 * registry's state sub-databases, in their order, so a table added there is in snapshots too.
 */
export const STATE_TABLES: readonly SubDbName[] = STATE_SUB_DBS;

const MAGIC = [0x4b, 0x57, 0x53, 0x31]; // "KWS1"
const te = new TextEncoder();
const td = new TextDecoder();

/**
 * Dumps the state synchronously. lmdb-js serves all reads of one synchronous run from one read
 * transaction, so the tables are mutually consistent (a commit only becomes visible between turns).
 */
export function dumpState(storage: Storage): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 8;
  const u32 = (n: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  parts.push(new Uint8Array(MAGIC), u32(STATE_TABLES.length));
  for (const name of STATE_TABLES) {
    const nb = te.encode(name);
    const t = storage.table(name);
    const entries: Uint8Array[] = [];
    let count = 0;
    for (const { key, value } of t.range()) {
      entries.push(u32(key.byteLength), key, u32(value.byteLength), value);
      size += 8 + key.byteLength + value.byteLength;
      count++;
    }
    parts.push(new Uint8Array([nb.byteLength]), nb, u32(count), ...entries);
    size += 1 + nb.byteLength + 4;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Replaces every state table with the snapshot's content in one transaction, flushed. */
export async function restoreState(storage: Storage, data: Uint8Array): Promise<void> {
  const tables = parseState(data);
  // Keys to delete are collected before the write transaction: a table must not be written while
  // one of its cursors is open.
  const stale = new Map<SubDbName, Uint8Array[]>();
  for (const name of STATE_TABLES) stale.set(name, [...storage.table(name).keys()]);
  await storage.transact('flushed', (txn) => {
    for (const name of STATE_TABLES) {
      const t = storage.table(name);
      for (const k of stale.get(name)!) txn.remove(t, k);
      for (const [k, v] of tables.get(name) ?? []) txn.put(t, k, v);
    }
  });
}

function parseState(data: Uint8Array): Map<SubDbName, Array<[Uint8Array, Uint8Array]>> {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (): never => {
    throw new Error('server: malformed state snapshot');
  };
  if (data.byteLength < 8 || MAGIC.some((b, i) => data[i] !== b)) fail();
  let off = 4;
  const need = (n: number): void => {
    if (off + n > data.byteLength) fail();
  };
  const n = dv.getUint32(off);
  off += 4;
  const known = new Set<string>(STATE_TABLES);
  const out = new Map<SubDbName, Array<[Uint8Array, Uint8Array]>>();
  for (let i = 0; i < n; i++) {
    need(1);
    const nl = data[off]!;
    off += 1;
    need(nl + 4);
    const name = td.decode(data.subarray(off, off + nl));
    off += nl;
    if (!known.has(name)) fail();
    const count = dv.getUint32(off);
    off += 4;
    const rows: Array<[Uint8Array, Uint8Array]> = [];
    for (let j = 0; j < count; j++) {
      need(4);
      const kl = dv.getUint32(off);
      off += 4;
      need(kl + 4);
      const k = data.slice(off, off + kl);
      off += kl;
      const vl = dv.getUint32(off);
      off += 4;
      need(vl);
      const v = data.slice(off, off + vl);
      off += vl;
      rows.push([k, v]);
    }
    out.set(name as SubDbName, rows);
  }
  return out;
}
