// Cluster membership as replicated data: the `cluster.members` table (member ID → record) and
// `cluster.meta` (cluster ID, removed member IDs), both in the state environment so they travel in
// snapshots with the KV data. Every write here is absolute (put this record, delete that one), so
// re-applying a suffix of the log after a crash or a snapshot converges to the same table.

import { SUB_DBS, type Storage, type Table, type WriteTxn } from '../storage/index.js';
import type { Member } from '../wire/index.js';

const te = new TextEncoder();
const td = new TextDecoder();
const CLUSTER_ID_KEY = te.encode('clusterId');
const REMOVED_PREFIX = te.encode('removed/');

export function idKey(id: bigint): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, id);
  return k;
}

function removedKey(id: bigint): Uint8Array {
  const k = new Uint8Array(REMOVED_PREFIX.byteLength + 8);
  k.set(REMOVED_PREFIX);
  new DataView(k.buffer).setBigUint64(REMOVED_PREFIX.byteLength, id);
  return k;
}

function encodeMember(m: Member): Uint8Array {
  return te.encode(JSON.stringify({ name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner }));
}

function decodeMember(id: bigint, v: Uint8Array): Member {
  const o = JSON.parse(td.decode(v)) as { name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean };
  return { id, name: o.name, peerUrls: o.peerUrls, clientUrls: o.clientUrls, isLearner: o.isLearner };
}

/** A change to the members table, computed while applying and written in one transaction. */
export type MemberOp = { op: 'put'; member: Member } | { op: 'remove'; id: bigint } | { op: 'clusterId'; id: bigint };

/**
 * The members table with an in-memory copy: applying reads and changes the copy synchronously
 * (a batch may add then promote the same member), and `write` persists the ops in order.
 */
export class MemberStore {
  private readonly members: Table;
  private readonly meta: Table;
  private cache = new Map<bigint, Member>();
  private removed = new Set<bigint>();
  private cid: bigint | undefined;

  constructor(private readonly storage: Storage) {
    this.members = storage.table(SUB_DBS.clusterMembers);
    this.meta = storage.table(SUB_DBS.clusterMeta);
    this.reload();
  }

  /** Re-reads the tables (after a snapshot replaced them). */
  reload(): void {
    this.cache = new Map();
    for (const { key, value } of this.members.range()) {
      const id = new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0);
      this.cache.set(id, decodeMember(id, value));
    }
    this.removed = new Set();
    for (const { key } of this.meta.range({ gte: REMOVED_PREFIX })) {
      if (key.byteLength !== REMOVED_PREFIX.byteLength + 8 || td.decode(key.subarray(0, REMOVED_PREFIX.byteLength)) !== 'removed/') break;
      this.removed.add(new DataView(key.buffer, key.byteOffset + REMOVED_PREFIX.byteLength, 8).getBigUint64(0));
    }
    const v = this.meta.get(CLUSTER_ID_KEY);
    this.cid = v === undefined ? undefined : new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0);
  }

  list(): Member[] {
    return [...this.cache.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: bigint): Member | undefined {
    return this.cache.get(id);
  }

  get size(): number {
    return this.cache.size;
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  clusterId(): bigint | undefined {
    return this.cid;
  }

  /** Changes the in-memory copy now; returns the op for `write`. */
  change(o: MemberOp): MemberOp {
    switch (o.op) {
      case 'put':
        this.cache.set(o.member.id, o.member);
        this.removed.delete(o.member.id);
        break;
      case 'remove':
        this.cache.delete(o.id);
        this.removed.add(o.id);
        break;
      case 'clusterId':
        this.cid = o.id;
        break;
    }
    return o;
  }

  /**
   * Writes `ops` in one transaction, synchronously: inside the driver's batch (batchSync/batchAsync)
   * it joins the transaction that applies the same Raft entries to mvcc, so a crash can never
   * keep the applied index of a conf change without its members-table change.
   */
  write(ops: readonly MemberOp[]): void {
    if (ops.length === 0) return;
    this.storage.transactSync((txn) => {
      for (const o of ops) this.writeOne(txn, o);
    }, 'deferred');
  }

  private writeOne(txn: WriteTxn, o: MemberOp): void {
    switch (o.op) {
      case 'put':
        txn.put(this.members, idKey(o.member.id), encodeMember(o.member));
        txn.remove(this.meta, removedKey(o.member.id));
        return;
      case 'remove':
        txn.remove(this.members, idKey(o.id));
        txn.put(this.meta, removedKey(o.id), new Uint8Array([1]));
        return;
      case 'clusterId':
        txn.put(this.meta, CLUSTER_ID_KEY, idKey(o.id));
        return;
    }
  }
}
