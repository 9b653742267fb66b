// Applying one write request inside a storage write transaction.
//
// Every request is checked completely before its first write: validation, then (for a txn) the
// compare path, the ignore_value/ignore_lease existence checks and the range revision checks, all
// against the state before the request, exactly where etcd 3.4's applier checks them. So an
// MvccError can only come before anything was written, and a rejected entry leaves no trace. The
// store double-checks with `touched`: an MvccError after a write (a bug) fails the whole batch
// rather than committing a half-applied entry.
import type {
  Compare,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../wire/index.js';
import type { Table, WriteTxn } from '../storage/index.js';
import { CorruptError, MvccError } from './errors.js';
import { encodeRecord, decodeRecord, type StoredRecord, type MetaState } from './codec.js';
import { decodeRevision, encodeRevision } from './revision.js';
import type { KeyIndex } from './keyindex.js';
import { Reader, bounds, header, toKeyValue, type Tables } from './reader.js';
import { byteKey, compareBytes } from './bytes.js';
import type { ChangeEvent } from './events.js';
import type { LeaseAttachments, UsageSession } from './external.js';

/** Changes of one request: all writes share revision `beginRev + 1`, subs in op order. */
export class Writer {
  readonly beginRev: number;
  /** Number of changes (puts and per-key deletions) so far: the next sub-revision. */
  changes = 0;
  /** Number of storage writes so far, including compaction's removals. */
  private writes = 0;
  readonly events: ChangeEvent[] = [];
  private readonly reader: Reader;

  constructor(
    private readonly t: Tables,
    private readonly index: KeyIndex,
    private readonly wtxn: WriteTxn,
    private readonly state: MetaState,
    /** Absent: leases are not checked nor tracked (a bare store in tests). */
    private readonly leases?: LeaseAttachments,
    /** Hears every key change of this request (storage accounting); absent: nobody does. */
    private readonly usage?: UsageSession,
  ) {
    this.beginRev = state.currentRevision;
    this.reader = new Reader(t, index);
  }

  /** The transaction for another module's tables; its writes count as this request's. */
  get externalTxn(): WriteTxn {
    return {
      put: (table: Table, key: Uint8Array, value: Uint8Array) => {
        this.writes++;
        this.wtxn.put(table, key, value);
      },
      remove: (table: Table, key: Uint8Array) => {
        this.writes++;
        return this.wtxn.remove(table, key);
      },
    };
  }

  /** The revision reads inside this request observe (etcd: beginRev, +1 once something changed). */
  get readRev(): number {
    return this.changes > 0 ? this.beginRev + 1 : this.beginRev;
  }

  get touched(): boolean {
    return this.writes > 0;
  }

  // ---- requests --------------------------------------------------------------------------------

  put(req: PutRequest): PutResponse {
    // etcd checks the lease before the key (observed: ignore_value with an unknown lease answers
    // "requested lease not found", not "key not found").
    this.checkLease(req.lease);
    if (req.ignoreValue || req.ignoreLease) {
      if (this.reader.current(req.key) === undefined) throw new MvccError('KEY_NOT_FOUND');
    }
    return this.execPut(req);
  }

  deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    return this.execDeleteRange(req);
  }

  range(req: RangeRequest): RangeResponse {
    return this.reader.range(req, this.readRev, this.state.compactRevision);
  }

  txn(req: TxnRequest): TxnResponse {
    const path = this.comparePath(req);
    this.checkPuts(req, path);
    this.checkRanges(req, path);
    const resp = this.execTxn(req, path);
    resp.header = header(this.readRev);
    return resp;
  }

  compaction(req: CompactionRequest): CompactionResponse {
    if (req.revision <= this.state.compactRevision) throw new MvccError('COMPACTED');
    if (req.revision > this.state.currentRevision) throw new MvccError('FUTURE_REV');
    this.compact(this.state.compactRevision, req.revision);
    this.state.compactRevision = req.revision;
    return { header: header(this.state.currentRevision) };
  }

  // ---- txn: decide the path, check it, then execute it ----------------------------------------

  /** Which branch each txn on the executed path takes, decided before any write (as etcd does). */
  private comparePath(req: TxnRequest): TxnPath {
    const succeeded = req.compare.every((c) => this.compareHolds(c));
    const nested: TxnPath[] = [];
    for (const op of succeeded ? req.success : req.failure) {
      if (op.type === 'txn') nested.push(this.comparePath(op.txn));
    }
    return { succeeded, nested };
  }

  private compareHolds(c: Compare): boolean {
    let any = false;
    for (const rec of this.reader.currentRecords(bounds(c.key, c.rangeEnd))) {
      any = true;
      if (!compareRecord(c, rec)) return false;
    }
    if (any) return true;
    // No key: VALUE compares never hold; others compare against an all-zero KeyValue.
    if (c.target === 3) return false;
    return compareRecord(c, ZERO_RECORD);
  }

  private checkPuts(req: TxnRequest, path: TxnPath): void {
    walkPath(req, path, (op) => {
      if (op.type !== 'put') return;
      if (op.put.ignoreValue || op.put.ignoreLease) {
        if (this.reader.current(op.put.key) === undefined) throw new MvccError('KEY_NOT_FOUND');
      }
      // Inside a txn etcd checks the key first, then the lease (checkRequestPut; observed).
      this.checkLease(op.put.lease);
    });
  }

  private checkLease(id: bigint): void {
    if (id !== 0n && this.leases !== undefined && !this.leases.exists(id)) throw new MvccError('LEASE_NOT_FOUND');
  }

  private checkRanges(req: TxnRequest, path: TxnPath): void {
    walkPath(req, path, (op) => {
      if (op.type !== 'range') return;
      const rev = op.range.revision;
      if (rev > this.beginRev) throw new MvccError('FUTURE_REV');
      // etcd 3.4 quirk, kept for compatibility (observed): inside a txn a NEGATIVE revision below
      // the compact revision (-1 before any compaction) is COMPACTED, while a top-level range
      // treats any negative revision as "current".
      if (rev !== 0 && rev < this.state.compactRevision) throw new MvccError('COMPACTED');
    });
  }

  private execTxn(req: TxnRequest, path: TxnPath): TxnResponse {
    const responses: ResponseOp[] = [];
    let nested = 0;
    for (const op of path.succeeded ? req.success : req.failure) {
      switch (op.type) {
        case 'range':
          responses.push({ type: 'range', range: this.range(op.range) });
          break;
        case 'put':
          responses.push({ type: 'put', put: this.execPut(op.put) });
          break;
        case 'deleteRange':
          responses.push({ type: 'deleteRange', deleteRange: this.execDeleteRange(op.deleteRange) });
          break;
        case 'txn':
          // A nested txn's response carries an all-zero header, as etcd's does.
          responses.push({ type: 'txn', txn: this.execTxn(op.txn, path.nested[nested++]!) });
          break;
        case 'none':
          throw new Error('mvcc: empty request op reached execution (validation skipped)');
      }
    }
    return { header: header(0), succeeded: path.succeeded, responses };
  }

  // ---- primitive changes -----------------------------------------------------------------------

  private execPut(req: PutRequest): PutResponse {
    const prev = this.reader.current(req.key);
    if ((req.ignoreValue || req.ignoreLease) && prev === undefined) {
      // Checked before the request's first write; the duplicate-key rule keeps it true.
      throw new Error('mvcc: ignore_value/ignore_lease target vanished during the request');
    }
    const rev = this.beginRev + 1;
    const sub = this.changes++;
    const rec: StoredRecord = {
      key: req.key,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      value: req.ignoreValue ? prev!.value : req.value,
      lease: req.ignoreLease ? prev!.lease : req.lease,
      tombstone: false,
    };
    const revBytes = encodeRevision(rev, sub);
    this.write(this.t.kv, revBytes, encodeRecord(rec));
    this.index.append(req.key, rev, sub, false);
    this.moveLease(req.key, prev?.lease ?? 0n, rec.lease);
    this.usage?.keyChanged(req.key, prev?.value.length, rec.value.length);
    const prevKv = prev ? toKeyValue(prev) : undefined;
    this.events.push({ type: 'put', kv: toKeyValue(rec), prevKv });
    return { header: header(rev), prevKv: req.prevKv ? prevKv : undefined };
  }

  private execDeleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    // Collect first: deleting changes the index, which the iteration reads.
    const victims = [...this.reader.currentRecords(bounds(req.key, req.rangeEnd))];
    const prevKvs: KeyValue[] = [];
    for (const prev of victims) prevKvs.push(this.deleteRecord(prev));
    return {
      header: header(this.readRev),
      deleted: victims.length,
      prevKvs: req.prevKv ? prevKvs : [],
    };
  }

  /**
   * Deletes those of `keys` that exist, all at this request's one revision, in the order given
   * (a lease revoke: etcd deletes the lease's keys in sorted order). Returns how many existed.
   */
  deleteKeys(keys: readonly Uint8Array[]): number {
    let n = 0;
    for (const key of keys) {
      const prev = this.reader.current(key);
      if (prev === undefined) continue;
      this.deleteRecord(prev);
      n++;
    }
    return n;
  }

  /** Deletes every live key in [key, rangeEnd) at this request's one revision; returns how many. */
  deleteRangeKeys(key: Uint8Array, rangeEnd: Uint8Array): number {
    return this.execDeleteRange({ key, rangeEnd, prevKv: false }).deleted;
  }

  /** Tombstones one live key at the next sub-revision; returns its previous KeyValue. */
  private deleteRecord(prev: StoredRecord): KeyValue {
    const rev = this.beginRev + 1;
    const sub = this.changes++;
    const revBytes = encodeRevision(rev, sub);
    const tomb: StoredRecord = {
      key: prev.key,
      createRevision: 0,
      modRevision: rev,
      version: 0,
      value: new Uint8Array(0),
      lease: 0n,
      tombstone: true,
    };
    this.write(this.t.kv, revBytes, encodeRecord(tomb));
    this.index.append(prev.key, rev, sub, true);
    this.moveLease(prev.key, prev.lease, 0n);
    this.usage?.keyChanged(prev.key, prev.value.length, undefined);
    const prevKv = toKeyValue(prev);
    this.events.push({ type: 'delete', kv: toKeyValue(tomb), prevKv });
    return prevKv;
  }

  /** Moves `key` from lease `from` to lease `to` in the lease table (0 = none), as etcd's put/delete do. */
  private moveLease(key: Uint8Array, from: bigint, to: bigint): void {
    if (from === to || this.leases === undefined) return;
    if (from !== 0n) {
      this.writes++;
      this.leases.detach(this.wtxn, from, key);
    }
    if (to !== 0n) {
      this.writes++;
      this.leases.attach(this.wtxn, to, key);
    }
  }

  /**
   * Removes every history record superseded at or before `to` (keyindex.ts, COMPACTION). Only
   * keys with a record in [from, to] can have such records: after the previous compaction at
   * `from`, any other key kept at most its one live entry at or before `from`. (The window starts
   * at `from`, not after it, because a tombstone at exactly `from` was kept and must go now.)
   */
  private compact(from: number, to: number): void {
    const keys = new Map<string, Uint8Array>();
    const window = { gte: encodeRevision(Math.max(from, 0), 0), lt: encodeRevision(to + 1, 0) };
    for (const e of this.t.kv.range(window)) {
      const rev = decodeRevision(e.key);
      const rec = decodeRecord(e.value, false);
      if (rec.modRevision !== rev.main) throw new CorruptError(`history record at ${rev.main}.${rev.sub} claims ${rec.modRevision}`);
      keys.set(byteKey(rec.key), rec.key);
    }
    // A tombstone at exactly `to` stays so a watch starting at `to` still sees the deletion
    // (etcd PR 18274); reads are unaffected, a tombstone reads as absent (keyindex.ts).
    for (const key of keys.values()) {
      for (const e of this.index.compactKey(key, to)) this.remove(this.t.kv, e.revBytes);
    }
  }

  private write(table: Tables[keyof Tables], key: Uint8Array, value: Uint8Array): void {
    this.writes++;
    this.wtxn.put(table, key, value);
  }

  private remove(table: Tables[keyof Tables], key: Uint8Array): void {
    this.writes++;
    this.wtxn.remove(table, key);
  }
}

interface TxnPath {
  succeeded: boolean;
  /** Paths of the nested txns in the taken branch, in op order. */
  nested: TxnPath[];
}

/** Visits the ops that will execute, depth first in op order (etcd's checkRequests order). */
function walkPath(req: TxnRequest, path: TxnPath, visit: (op: RequestOp) => void): void {
  let nested = 0;
  for (const op of path.succeeded ? req.success : req.failure) {
    if (op.type === 'txn') walkPath(op.txn, path.nested[nested++]!, visit);
    else visit(op);
  }
}

const ZERO_RECORD: StoredRecord = {
  key: new Uint8Array(0),
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: new Uint8Array(0),
  lease: 0n,
  tombstone: false,
};

/**
 * etcd's compareKV: the operand is the oneof field the request set; if it is not the target's
 * field, the target is compared against that field's zero.
 */
function compareRecord(c: Compare, r: StoredRecord): boolean {
  const op = c.operand;
  let result: number;
  switch (c.target) {
    case 0:
      result = Math.sign(r.version - (op.kind === 'version' ? op.version : 0));
      break;
    case 1:
      result = Math.sign(r.createRevision - (op.kind === 'createRevision' ? op.createRevision : 0));
      break;
    case 2:
      result = Math.sign(r.modRevision - (op.kind === 'modRevision' ? op.modRevision : 0));
      break;
    case 3:
      result = compareBytes(r.value, op.kind === 'value' ? op.value : new Uint8Array(0));
      break;
    case 4: {
      const want = op.kind === 'lease' ? op.lease : 0n;
      result = r.lease === want ? 0 : r.lease > want ? 1 : -1;
      break;
    }
    default:
      throw new TypeError(`unknown compare target ${String(c.target)}`);
  }
  switch (c.result) {
    case 0:
      return result === 0;
    case 1:
      return result > 0;
    case 2:
      return result < 0;
    case 3:
      return result !== 0;
    default:
      throw new TypeError(`unknown compare result ${String(c.result)}`);
  }
}
