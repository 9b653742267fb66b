// The key index: the `keyrevs` sub-db, one entry per (user key, revision) a key was written at.
//
// ENCODING. An entry's LMDB key is
//
//     escape(userKey) ‖ 0x00 0x01 ‖ main (u64 BE) ‖ sub (u64 BE)
//
// where escape() writes every 0x00 byte of the user key as 0x00 0xFF and copies other bytes. Its
// value is one byte: 0x00 = live (a put), 0x01 = tombstone (a delete).
// Why this keeps order: comparing two entries bytewise compares the user keys bytewise first and
// the revisions second. At the first byte where two escaped keys differ, a 0x00 in either key is
// followed by 0xFF, which sorts after the terminator's 0x01, so a key sorts before every longer
// key it prefixes (a ≺ a\0 ≺ a\x01), exactly like raw bytewise order. Consequences used below:
//   - all entries of key k lie in [escape(k) ‖ 00 01, escape(k) ‖ 00 02);
//   - for user keys, k ≥ s ⇔ entry(k, *) ≥ escape(s), and k < e ⇔ entry(k, *) < escape(e),
//     so a user-key range [s, e) is the LMDB range [escape(s), escape(e)).
//
// INVARIANTS (every write transaction preserves them; tests check them):
//   I1. For a key k, its entries in order are the revisions k was written at, ascending; a
//       tombstone ends a *generation*, the next put starts a new one.
//   I2. Every entry has a history record in `kv` at the same revision, a tombstone entry a
//       tombstone record, and every history record has its entry.
//   I3. `latest[k]` exists iff k's last entry is live, and then holds that entry's revision.
//   I4. After compaction at C, a key has at most one entry with main ≤ C: a live one, or a
//       tombstone at exactly C (kept so a watch starting at C still sees that deletion).
//
// READING k at revision R: take k's last entry with main ≤ R. None, or a tombstone → k did not
// exist at R. Live → the history record at that revision is k's state at R.
//
// WORKED EXAMPLE (key "foo"; `@m.s` is revision main.s, `t` a tombstone):
//
//   rev 2  put foo=a                  foo: @2.0                    generations {2.0}
//   rev 3  put foo=b                  foo: @2.0 @3.0               {2.0 3.0}
//   rev 4  txn { put bar; del foo }   foo: ... @4.1t (bar got 4.0)  {2.0 3.0 4.1t}        — ended
//   rev 5  put foo=c                  foo: ... @5.0                {2.0 3.0 4.1t} {5.0}  — new generation
//   rev 6  put foo=d                  foo: ... @6.0                {2.0 3.0 4.1t} {5.0 6.0}
//   latest[foo] = 6.0
//   read @3 → 3.0 live → foo=b (create 2, version 2); read @4 → 4.1t → absent;
//   read @5 → foo=c (create 5, version 1): a new generation restarts create revision and version.
//
// COMPACTION at C removes, for every key, each entry (with its history record) superseded at or
// before C: all entries with main ≤ C except the last one, and that one too if it is a tombstone
// older than C. Reads at revisions ≥ C are unchanged. Continuing the example:
//   compact 3 → remove @2.0               foo: {3.0 4.1t} {5.0 6.0}    (read @3 still gives b)
//   compact 4 → remove @3.0               foo: {4.1t} {5.0 6.0}        (tombstone at C kept)
//   compact 5 → remove @4.1t              foo: {5.0 6.0}               (ended generation gone)
//   compact 6 → remove @5.0               foo: {6.0}
//   rev 7 del foo, compact 7 → remove @6.0; foo: {7.0t}, no latest: reads at 7 see no foo.
//   rev 8 put bar, compact 8 → remove @7.0t; foo has no entries and no history left.
// test/mvcc/keyindex.test.ts replays this example.
import type { Table } from '../storage/index.js';
import { CorruptError } from './errors.js';
import { readU64, writeU64, REV_BYTES, type Revision } from './revision.js';
import { view } from './bytes.js';

export const LIVE = Uint8Array.of(0);
export const TOMBSTONE = Uint8Array.of(1);
const TERMINATOR_LEN = 2;

/** Length of escape(key). */
export function escapedLength(key: Uint8Array): number {
  let n = key.length;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) n++;
  return n;
}

/** Bytes an entry of this key occupies as an LMDB key. */
export function entryLength(key: Uint8Array): number {
  return escapedLength(key) + TERMINATOR_LEN + REV_BYTES;
}

function writeEscaped(key: Uint8Array, out: Uint8Array): number {
  let p = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    out[p++] = c;
    if (c === 0) out[p++] = 0xff;
  }
  return p;
}

/** escape(key): the LMDB bound equivalent to user key `key` (see ENCODING). */
export function escapeKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(escapedLength(key));
  writeEscaped(key, out);
  return out;
}

/** escape(key) ‖ 00 01 ‖ revision. */
export function encodeEntry(key: Uint8Array, main: number, sub: number): Uint8Array {
  const esc = escapedLength(key);
  const out = new Uint8Array(esc + TERMINATOR_LEN + REV_BYTES);
  writeEscaped(key, out);
  out[esc] = 0;
  out[esc + 1] = 1;
  writeU64(out, esc + 2, main);
  writeU64(out, esc + 10, sub);
  return out;
}

/** escape(key) ‖ 00 01: every entry of key starts with it. */
export function entryPrefix(key: Uint8Array): Uint8Array {
  const esc = escapedLength(key);
  const out = new Uint8Array(esc + TERMINATOR_LEN);
  writeEscaped(key, out);
  out[esc + 1] = 1;
  return out;
}

/** escape(key) ‖ 00 02: sorts after every entry of key and before every entry of a larger key. */
export function entriesEnd(key: Uint8Array): Uint8Array {
  const esc = escapedLength(key);
  const out = new Uint8Array(esc + TERMINATOR_LEN);
  writeEscaped(key, out);
  out[esc + 1] = 2;
  return out;
}

export interface IndexEntry {
  key: Uint8Array;
  rev: Revision;
  /** The 16 revision bytes: the entry's history record key. */
  revBytes: Uint8Array;
}

export function decodeEntry(buf: Uint8Array): IndexEntry {
  // Unescape up to the terminator; the 16 revision bytes follow it.
  const bodyEnd = buf.length - REV_BYTES - TERMINATOR_LEN;
  if (bodyEnd < 0) throw new CorruptError('key index entry too short');
  const key = new Uint8Array(bodyEnd);
  let n = 0;
  let i = 0;
  for (;;) {
    if (i >= buf.length - REV_BYTES) throw new CorruptError('key index entry without terminator');
    const c = buf[i]!;
    if (c !== 0) {
      key[n++] = c;
      i++;
      continue;
    }
    const next = buf[i + 1];
    if (next === 0xff) {
      key[n++] = 0;
      i += 2;
      continue;
    }
    if (next === 1 && i + 2 === buf.length - REV_BYTES) break;
    throw new CorruptError('key index entry with a bad escape');
  }
  const revAt = buf.length - REV_BYTES;
  return {
    key: key.subarray(0, n),
    rev: { main: readU64(buf, revAt, 'revision'), sub: readU64(buf, revAt + 8, 'sub-revision') },
    revBytes: view(buf, revAt, REV_BYTES),
  };
}

export function isTombstone(flag: Uint8Array): boolean {
  if (flag.length === 1 && (flag[0] === 0 || flag[0] === 1)) return flag[0] === 1;
  throw new CorruptError('key index flag');
}

export interface VersionAt extends IndexEntry {
  tombstone: boolean;
}

/** k's last entry with main ≤ atRev (the entry that decides k's state at atRev), if any. */
export function entryAt(keyrevs: Table, key: Uint8Array, atRev: number): VersionAt | undefined {
  for (const e of keyrevs.range({ gte: entryPrefix(key), lt: encodeEntry(key, atRev + 1, 0), reverse: true, limit: 1 })) {
    const d = decodeEntry(e.key);
    return { ...d, tombstone: isTombstone(e.value) };
  }
  return undefined;
}

/**
 * The state-deciding entry at atRev of every key in the escaped range [gte, lt) (lt absent = no
 * end), in key order, including tombstones. Skips from key to key, so a key's long history costs
 * one seek, not a scan.
 */
export function* entriesAt(keyrevs: Table, gte: Uint8Array, lt: Uint8Array | undefined, atRev: number): Generator<VersionAt> {
  let from = gte;
  for (;;) {
    let key: Uint8Array | undefined;
    for (const k of keyrevs.keys(lt === undefined ? { gte: from, limit: 1 } : { gte: from, lt, limit: 1 })) {
      key = decodeEntry(k).key;
    }
    if (key === undefined) return;
    const at = entryAt(keyrevs, key, atRev);
    if (at !== undefined) yield at;
    from = entriesEnd(key);
  }
}

/** Every entry of key with main ≤ upTo, oldest first. */
export function entriesUpTo(keyrevs: Table, key: Uint8Array, upTo: number): VersionAt[] {
  const out: VersionAt[] = [];
  for (const e of keyrevs.range({ gte: entryPrefix(key), lt: encodeEntry(key, upTo + 1, 0) })) {
    out.push({ ...decodeEntry(e.key), tombstone: isTombstone(e.value) });
  }
  return out;
}
