// Reads: range requests and the current value of keys. The key index (memory) says which
// revision decides each key at the read revision; the record comes from `kv` — the latest
// committed snapshot, or, while a write transaction runs, that transaction's own state.
import type { KeyValue, RangeRequest, RangeResponse, ResponseHeader } from '../wire/index.js';
import type { Table } from '../storage/index.js';
import { CorruptError, MvccError } from './errors.js';
import { decodeRecord, type StoredRecord } from './codec.js';
import { decodeRevision } from './revision.js';
import type { KeyIndex } from './keyindex.js';
import { compareBytes, equalBytes } from './bytes.js';

export interface Tables {
  kv: Table;
  meta: Table;
}

/** A revision above every real one: the newest entry of each key. */
export const LATEST = Number.MAX_SAFE_INTEGER;

export function header(revision: number): ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision, raftTerm: 0 };
}

export function toKeyValue(r: StoredRecord, withValue = true): KeyValue {
  return {
    key: r.key,
    createRevision: r.createRevision,
    modRevision: r.modRevision,
    version: r.version,
    value: withValue ? r.value : new Uint8Array(0),
    lease: r.lease,
  };
}

/**
 * The user-key interval a (key, range_end) pair names, as etcd reads it: empty range_end → the
 * single key; "\0" → every key >= key; range_end <= key → nothing; else [key, range_end).
 */
export type Bounds =
  | { kind: 'single'; key: Uint8Array }
  | { kind: 'range'; gte: Uint8Array; lt: Uint8Array | undefined }
  | { kind: 'empty' };

export function bounds(key: Uint8Array, rangeEnd: Uint8Array): Bounds {
  if (rangeEnd.length === 0) return { kind: 'single', key };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'range', gte: key, lt: undefined };
  if (compareBytes(rangeEnd, key) <= 0) return { kind: 'empty' };
  return { kind: 'range', gte: key, lt: rangeEnd };
}

/** A key present at the read revision and where its record lives. */
interface Ref {
  key: Uint8Array;
  revBytes: Uint8Array;
}

const SortOrderNone = 0;
const SortOrderAscend = 1;
const SortOrderDescend = 2;
const SortTargetKey = 0;
const SortTargetValue = 4;

export class Reader {
  constructor(
    private readonly t: Tables,
    private readonly index: KeyIndex,
  ) {}

  /** The record a live ref points to; missing or mismatching records are corruption. */
  private record(ref: Ref, withValue: boolean): StoredRecord {
    const buf = this.t.kv.get(ref.revBytes);
    if (buf === undefined) throw new CorruptError('index points to a missing history record');
    const rec = decodeRecord(buf, withValue);
    const rev = decodeRevision(ref.revBytes);
    if (rec.tombstone || rec.modRevision !== rev.main || !equalBytes(rec.key, ref.key)) {
      throw new CorruptError(`history record at ${rev.main}.${rev.sub} does not match its index entry`);
    }
    return rec;
  }

  /** The live record of `key` in the newest state the index holds (a writer's view), if the key exists. */
  current(key: Uint8Array): StoredRecord | undefined {
    const at = this.index.at(key, LATEST);
    return at === undefined || at.tombstone ? undefined : this.record({ key: at.key, revBytes: at.revBytes }, true);
  }

  /** Live records of the newest state within `b`, in key order (a writer's view). */
  *currentRecords(b: Bounds): Generator<StoredRecord> {
    for (const ref of this.refsAt(b, LATEST)) yield this.record(ref, true);
  }

  private countAt(b: Bounds, rev: number): number {
    if (b.kind === 'empty') return 0;
    if (b.kind === 'single') {
      const at = this.index.at(b.key, rev);
      return at !== undefined && !at.tombstone ? 1 : 0;
    }
    return this.index.countLive(b.gte, b.lt, rev);
  }

  /** Keys present at revision `rev` within `b`, in key order (or reverse). */
  private *refsAt(b: Bounds, rev: number, reverse = false): Generator<Ref> {
    if (b.kind === 'empty') return;
    if (b.kind === 'single') {
      const at = this.index.at(b.key, rev);
      if (at !== undefined && !at.tombstone) yield { key: at.key, revBytes: at.revBytes };
      return;
    }
    for (const at of this.index.range(b.gte, b.lt, rev, reverse)) {
      if (!at.tombstone) yield { key: at.key, revBytes: at.revBytes };
    }
  }

  /**
   * etcd's Range at store revision `curRev` with compaction at `compactRev`. The response header
   * carries `curRev`. Assumes the request passed validateRange. The index may hold entries newer
   * than `curRev` (a batch staged but not yet visible); reading at a revision ignores them.
   */
  range(req: RangeRequest, curRev: number, compactRev: number): RangeResponse {
    let rev = req.revision;
    if (rev > curRev) throw new MvccError('FUTURE_REV');
    if (rev <= 0) rev = curRev;
    if (rev < compactRev) throw new MvccError('COMPACTED');
    const b = bounds(req.key, req.rangeEnd);
    const hdr = header(curRev);

    if (req.countOnly) {
      const count = this.countAt(b, rev);
      return { header: hdr, kvs: [], more: false, count };
    }

    const filtered =
      req.minModRevision !== 0 || req.maxModRevision !== 0 || req.minCreateRevision !== 0 || req.maxCreateRevision !== 0;
    const limit = req.limit > 0 ? req.limit : Infinity;

    // etcd 3.4 fetches everything before sorting only when sort_order is set or a filter is. With
    // sort_order NONE it fetches the first limit+1 keys in key order and, for a target other than
    // KEY, sorts just those ascending: a quirk kept for compatibility (observed against etcd).
    if (!filtered && (req.sortTarget === SortTargetKey || req.sortOrder === SortOrderNone)) {
      const descend = req.sortOrder === SortOrderDescend;
      const wanted = limit === Infinity ? Infinity : limit + 1;
      const refs: Ref[] = [];
      for (const ref of this.refsAt(b, rev, descend)) {
        if (refs.length === wanted) break;
        refs.push(ref);
      }
      // More keys than fetched: count the rest without materialising them.
      const count = refs.length === wanted ? this.countAt(b, rev) : refs.length;
      const needValue = !req.keysOnly || req.sortTarget === SortTargetValue;
      // In key order the extra ref only answers `more`; its record is needed only to sort.
      const fetch = req.sortTarget === SortTargetKey && refs.length > limit ? refs.slice(0, limit) : refs;
      const recs = fetch.map((ref) => this.record(ref, needValue));
      if (req.sortTarget !== SortTargetKey) sortRecords(recs, SortOrderAscend, req.sortTarget);
      if (recs.length > limit) recs.length = limit;
      return { header: hdr, kvs: recs.map((r) => toKeyValue(r, !req.keysOnly)), more: refs.length > limit, count };
    }

    // Filters or a non-key sort: load everything, filter, sort, then cut (etcd's order).
    const refs = [...this.refsAt(b, rev)];
    const count = refs.length;
    const needValue = !req.keysOnly || req.sortTarget === SortTargetValue;
    let recs = refs.map((ref) => this.record(ref, needValue));
    if (filtered) recs = recs.filter((r) => keep(req, r));
    sortRecords(recs, req.sortOrder, req.sortTarget);
    const more = recs.length > limit;
    if (more) recs.length = limit;
    return { header: hdr, kvs: recs.map((r) => toKeyValue(r, !req.keysOnly)), more, count };
  }
}

function keep(req: RangeRequest, r: StoredRecord): boolean {
  if (req.maxModRevision !== 0 && r.modRevision > req.maxModRevision) return false;
  if (req.minModRevision !== 0 && r.modRevision < req.minModRevision) return false;
  if (req.maxCreateRevision !== 0 && r.createRevision > req.maxCreateRevision) return false;
  if (req.minCreateRevision !== 0 && r.createRevision < req.minCreateRevision) return false;
  return true;
}

/**
 * Sorts in place, stably (ties keep key order, as etcd's small-input sort does). A target other
 * than KEY with order NONE sorts ascending; KEY with NONE keeps the index's key order.
 */
function sortRecords(recs: StoredRecord[], order: number, target: number): void {
  if (order === SortOrderNone && target === SortTargetKey) return;
  const cmp = comparator(target);
  const sign = order === SortOrderDescend ? -1 : 1;
  recs.sort((a, b) => sign * cmp(a, b));
}

function comparator(target: number): (a: StoredRecord, b: StoredRecord) => number {
  switch (target) {
    case 0:
      return (a, b) => compareBytes(a.key, b.key);
    case 1:
      return (a, b) => a.version - b.version;
    case 2:
      return (a, b) => a.createRevision - b.createRevision;
    case 3:
      return (a, b) => a.modRevision - b.modRevision;
    case 4:
      return (a, b) => compareBytes(a.value, b.value);
    default:
      throw new TypeError(`unknown sort_target ${target}`);
  }
}

