// On-disk encoding of the Raft log and its bookkeeping (sub-databases raft.entries and raft.meta).
// Part of the on-disk format: change only with a new format version and a migration.
//
// Entry key:   index as 8-byte big-endian, so LMDB's bytewise order is log order.
// Entry value: offset 0  CRC-32 (IEEE, big-endian) of key ‖ value[4..]
//                     4  kind: 1 = normal, 2 = confChange
//                     5  term, 8-byte big-endian
//                    13  data (the rest of the value)
// Meta value:  offset 0  CRC-32 of metaKey ‖ value[4..]
//                     4  record version (1)
//                     5  payload (fixed layout per key, below)
//
// The checksum covers the key, so a record that lands under the wrong key (or a flipped bit in
// the key) is caught like a flipped bit in the value. LMDB stores each value's length, so a torn
// or truncated record shows up as a checksum mismatch or a bad length, never as a shorter entry.
// Every decode failure is a StorageError 'CORRUPT' (GUARANTEES D11): never applied, never served.
import zlib from 'node:zlib';
import type { ConfState, Entry, EntryType, HardState, NodeId, SnapshotMetadata } from '../raft/index.js';
import { StorageError } from './errors.js';

const ENTRY_HEADER = 13;
const KIND_NORMAL = 1;
const KIND_CONF_CHANGE = 2;
const META_HEADER = 5;
const META_VERSION = 1;

/** Format of the Raft environment as a whole, stored under META_KEYS.format. */
export const RAFT_FORMAT_VERSION = 1;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Keys of raft.meta. */
export const META_KEYS = {
  format: utf8('format'),
  hardState: utf8('hardstate'),
  /** Index and term of the last entry dropped by compaction or replaced by a snapshot (the "dummy"). */
  compacted: utf8('compacted'),
  snapshot: utf8('snapshot'),
} as const;

// zlib.crc32 arrived in Node 20.15; the table fallback keeps older 20.x working.
const crc32: (data: Uint8Array, seed?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (data, seed) => zlib.crc32(data, seed) : tableCrc32();

function tableCrc32(): (data: Uint8Array, seed?: number) => number {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return (data, seed = 0) => {
    let c = (seed ^ 0xffffffff) >>> 0;
    for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
}

const TWO_32 = 2 ** 32;

function corrupt(what: string): StorageError {
  return new StorageError('CORRUPT', `raft log: ${what}`);
}

function checkIndexLike(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`raft log: ${what} ${n} is not a non-negative safe integer`);
}

// Byte-wise big-endian helpers: entries are encoded and decoded on every append and read, and a
// DataView per call costs more than the rest of the decode (measured in bench/raft-log-bench.ts).
function putU32(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 24;
  buf[at + 1] = (n >>> 16) & 0xff;
  buf[at + 2] = (n >>> 8) & 0xff;
  buf[at + 3] = n & 0xff;
}

function getU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function putU64(buf: Uint8Array, at: number, n: number): void {
  putU32(buf, at, Math.floor(n / TWO_32));
  putU32(buf, at + 4, n >>> 0);
}

/** Reads a u64 that must fit a safe integer; anything larger can only be damage. */
function readU64(buf: Uint8Array, at: number, what: string): number {
  const hi = getU32(buf, at);
  if (hi >= 2 ** 21) throw corrupt(`${what} out of range`);
  return hi * TWO_32 + getU32(buf, at + 4);
}

function getU64(dv: DataView, at: number, what: string): number {
  return readU64(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength), at, what);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function indexKey(index: number): Uint8Array {
  checkIndexLike(index, 'index');
  const k = new Uint8Array(8);
  putU64(k, 0, index);
  return k;
}

export function decodeIndexKey(key: Uint8Array): number {
  if (key.length !== 8) throw corrupt(`entry key of ${key.length} bytes`);
  return readU64(key, 0, 'entry key');
}

/** The record for `e`; `key` is indexKey(e.index) when the caller already has it. */
export function encodeEntry(e: Entry, key: Uint8Array = indexKey(e.index)): Uint8Array {
  checkIndexLike(e.term, 'term');
  const out = new Uint8Array(ENTRY_HEADER + e.data.byteLength);
  out[4] = e.type === 'confChange' ? KIND_CONF_CHANGE : KIND_NORMAL;
  putU64(out, 5, e.term);
  out.set(e.data, ENTRY_HEADER);
  putU32(out, 0, crc32(out.subarray(4), crc32(key)));
  return out;
}

/**
 * Decodes the record stored under the key of `index` (`key`, if the caller has the stored key
 * bytes, saves re-encoding it). The returned entry's data is a view into `value`, which lmdb-js
 * hands out as a fresh copy, so the entry owns it.
 */
export function decodeEntry(index: number, value: Uint8Array, key: Uint8Array = indexKey(index)): Entry {
  if (value.length < ENTRY_HEADER) throw corrupt(`entry ${index}: record of ${value.length} bytes is truncated`);
  if (getU32(value, 0) !== crc32(value.subarray(4), crc32(key))) throw corrupt(`entry ${index}: checksum mismatch`);
  let type: EntryType;
  if (value[4] === KIND_NORMAL) type = 'normal';
  else if (value[4] === KIND_CONF_CHANGE) type = 'confChange';
  else throw corrupt(`entry ${index}: unknown kind ${value[4]}`);
  const term = readU64(value, 5, `entry ${index} term`);
  // A plain Uint8Array view (lmdb-js returns a Buffer), so entries compare equal to what was saved.
  const data = new Uint8Array(value.buffer, value.byteOffset + ENTRY_HEADER, value.byteLength - ENTRY_HEADER);
  return { index, term, type, data };
}

function encodeMeta(key: Uint8Array, payloadLength: number, fill: (payload: Uint8Array) => void): Uint8Array {
  const out = new Uint8Array(META_HEADER + payloadLength);
  out[4] = META_VERSION;
  fill(out.subarray(META_HEADER));
  view(out).setUint32(0, crc32(out.subarray(4), crc32(key)));
  return out;
}

/** Checks a meta record's checksum and version and returns a view of its payload. */
function metaPayload(key: Uint8Array, value: Uint8Array, name: string): DataView {
  if (value.length < META_HEADER) throw corrupt(`${name} record of ${value.length} bytes is truncated`);
  if (view(value).getUint32(0) !== crc32(value.subarray(4), crc32(key))) throw corrupt(`${name} record: checksum mismatch`);
  if (value[4] !== META_VERSION) throw corrupt(`${name} record: unknown version ${value[4]}`);
  return view(value.subarray(META_HEADER));
}

export function encodeFormat(version: number): Uint8Array {
  return encodeMeta(META_KEYS.format, 4, (p) => view(p).setUint32(0, version));
}

export function decodeFormat(value: Uint8Array): number {
  const p = metaPayload(META_KEYS.format, value, 'format');
  if (p.byteLength !== 4) throw corrupt('format record has the wrong length');
  return p.getUint32(0);
}

export function encodeHardState(hs: HardState): Uint8Array {
  checkIndexLike(hs.term, 'hard state term');
  checkIndexLike(hs.commit, 'hard state commit');
  if (hs.vote < 0n || hs.vote >= 1n << 64n) throw new RangeError(`raft log: vote ${hs.vote} is not a u64`);
  return encodeMeta(META_KEYS.hardState, 24, (p) => {
    putU64(p, 0, hs.term);
    view(p).setBigUint64(8, hs.vote);
    putU64(p, 16, hs.commit);
  });
}

export function decodeHardState(value: Uint8Array): HardState {
  const p = metaPayload(META_KEYS.hardState, value, 'hard state');
  if (p.byteLength !== 24) throw corrupt('hard state record has the wrong length');
  return { term: getU64(p, 0, 'hard state term'), vote: p.getBigUint64(8), commit: getU64(p, 16, 'hard state commit') };
}

export interface LogPoint {
  readonly index: number;
  readonly term: number;
}

export function encodeCompacted(pt: LogPoint): Uint8Array {
  checkIndexLike(pt.index, 'compaction index');
  checkIndexLike(pt.term, 'compaction term');
  return encodeMeta(META_KEYS.compacted, 16, (p) => {
    putU64(p, 0, pt.index);
    putU64(p, 8, pt.term);
  });
}

export function decodeCompacted(value: Uint8Array): LogPoint {
  const p = metaPayload(META_KEYS.compacted, value, 'compaction point');
  if (p.byteLength !== 16) throw corrupt('compaction point record has the wrong length');
  return { index: getU64(p, 0, 'compaction index'), term: getU64(p, 8, 'compaction term') };
}

export function encodeSnapshotMetadata(m: SnapshotMetadata): Uint8Array {
  checkIndexLike(m.index, 'snapshot index');
  checkIndexLike(m.term, 'snapshot term');
  const { voters, learners } = m.confState;
  const len = 16 + 4 + 8 * voters.length + 4 + 8 * learners.length;
  return encodeMeta(META_KEYS.snapshot, len, (p) => {
    const dv = view(p);
    putU64(p, 0, m.index);
    putU64(p, 8, m.term);
    let at = 16;
    for (const ids of [voters, learners]) {
      dv.setUint32(at, ids.length);
      at += 4;
      for (const id of ids) {
        dv.setBigUint64(at, id);
        at += 8;
      }
    }
  });
}

export function decodeSnapshotMetadata(value: Uint8Array): SnapshotMetadata {
  const p = metaPayload(META_KEYS.snapshot, value, 'snapshot metadata');
  const bad = (): StorageError => corrupt('snapshot metadata record has the wrong length');
  if (p.byteLength < 24) throw bad();
  const index = getU64(p, 0, 'snapshot index');
  const term = getU64(p, 8, 'snapshot term');
  let at = 16;
  const lists: NodeId[][] = [];
  for (let l = 0; l < 2; l++) {
    if (at + 4 > p.byteLength) throw bad();
    const n = p.getUint32(at);
    at += 4;
    if (at + 8 * n > p.byteLength) throw bad();
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++, at += 8) ids.push(p.getBigUint64(at));
    lists.push(ids);
  }
  if (at !== p.byteLength) throw bad();
  const confState: ConfState = { voters: lists[0]!, learners: lists[1]! };
  return { index, term, confState };
}
