// Change events: produced by apply for every put and per-key deletion, and read back from the
// history for watch catch-up.
import type { KeyValue } from '../wire/index.js';
import { CorruptError } from './errors.js';
import { decodeRecord } from './codec.js';
import { decodeRevision, encodeRevision, type Revision } from './revision.js';
import type { KeyIndex } from './keyindex.js';
import { toKeyValue, type Tables } from './reader.js';

export interface ChangeEvent {
  type: 'put' | 'delete';
  /** For a delete: only `key` and `modRevision` are set (etcd's DELETE event shape). */
  kv: KeyValue;
  /** The key's previous live value, if it had one. */
  prevKv: KeyValue | undefined;
}

export interface HistoryPage {
  /** Events in revision order (sub-revision order within a revision). */
  events: ChangeEvent[];
  /** The first revision not covered: pass it as `fromRevision` to continue. */
  nextRevision: number;
}

/**
 * The events of revisions >= from, from the history. A page stops at a revision boundary once it
 * holds at least `limit` events, so the events of one revision (one txn) are never split.
 *
 * After compaction at C the history still holds every event of revisions > C, and of revision C
 * all but those superseded inside C itself. prevKv is exact for revisions > C (the entry before
 * is either newer than C or the one C kept); for revision C it may be missing.
 */
export function readHistory(t: Tables, index: KeyIndex, from: number, currentRevision: number, limit: number, withPrevKv: boolean): HistoryPage {
  const events: ChangeEvent[] = [];
  let lastMain = -1;
  for (const e of t.kv.range({ gte: encodeRevision(from, 0) })) {
    const rev = decodeRevision(e.key);
    if (rev.main !== lastMain && events.length >= limit) return { events, nextRevision: rev.main };
    lastMain = rev.main;
    const rec = decodeRecord(e.value);
    if (rec.modRevision !== rev.main) throw new CorruptError(`history record at ${rev.main}.${rev.sub} claims ${rec.modRevision}`);
    const prevKv = withPrevKv ? previous(t, index, rec.key, rev) : undefined;
    events.push({ type: rec.tombstone ? 'delete' : 'put', kv: toKeyValue(rec), prevKv });
  }
  return { events, nextRevision: Math.max(from, currentRevision + 1) };
}

/** The key's live value just before revision `rev`, if the history still has it. */
function previous(t: Tables, index: KeyIndex, key: Uint8Array, rev: Revision): KeyValue | undefined {
  const e = index.before(key, rev);
  if (e === undefined || e.tombstone) return undefined;
  const buf = t.kv.get(e.revBytes);
  if (buf === undefined) throw new CorruptError('index points to a missing history record');
  return toKeyValue(decodeRecord(buf));
}
