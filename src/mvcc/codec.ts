// Binary codecs for what mvcc stores as LMDB values: history records and the meta record.
//
// History record (value in the `kv` sub-db, keyed by its 16-byte revision), big-endian:
//
//   offset  size  field
//   0       1     format = 1
//   1       1     flags: bit 0 = tombstone; every other bit must be 0
//   2       8     createRevision (u64)
//   10      8     modRevision    (u64; equals the main part of the record's LMDB key)
//   18      8     version        (u64)
//   26      8     lease          (i64)
//   34      4     key length K   (u32)
//   38      K     key
//   38+K    4     value length V (u32)
//   42+K    V     value
//   42+K+V  4     CRC-32 of every preceding byte
//
// A tombstone records a deletion: key and modRevision are set, everything else is zero/empty.
// Decoding checks the format byte, flags, lengths (they must add up to the exact record size) and
// the CRC, and throws CorruptError on any mismatch: a torn or bit-flipped record is never read as
// data.
import * as zlib from 'node:zlib';
import { CorruptError } from './errors.js';
import { readU64, writeU64 } from './revision.js';
import { view } from './bytes.js';

const RECORD_FORMAT = 1;
const FLAG_TOMBSTONE = 1;
const HEADER = 38;
const MIN_RECORD = HEADER + 4 + 4;

export interface StoredRecord {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: bigint;
  tombstone: boolean;
}

// zlib.crc32 arrived in Node 20.15; the table fallback keeps older 20.x working.
const crc32: (data: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data) => zlib.crc32(data)
    : tableCrc32();

function tableCrc32(): (data: Uint8Array) => number {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return (data) => {
    let c = 0xffffffff;
    for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
}

function dataView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function encodeRecord(r: StoredRecord): Uint8Array {
  const size = MIN_RECORD + r.key.length + r.value.length;
  const out = new Uint8Array(size);
  const dv = dataView(out);
  out[0] = RECORD_FORMAT;
  out[1] = r.tombstone ? FLAG_TOMBSTONE : 0;
  writeU64(out, 2, r.createRevision);
  writeU64(out, 10, r.modRevision);
  writeU64(out, 18, r.version);
  dv.setBigInt64(26, r.lease);
  dv.setUint32(34, r.key.length);
  out.set(r.key, HEADER);
  let p = HEADER + r.key.length;
  dv.setUint32(p, r.value.length);
  p += 4;
  out.set(r.value, p);
  p += r.value.length;
  dv.setUint32(p, crc32(out.subarray(0, p)));
  return out;
}

/**
 * Decodes a history record. `key` and `value` are plain Uint8Array views into `buf`, which must
 * not be reused by the caller afterwards (storage returns fresh copies, so this holds).
 * With `withValue: false` the value comes back empty (for keys_only reads); the checksum still
 * covers it.
 */
export function decodeRecord(buf: Uint8Array, withValue = true): StoredRecord {
  if (buf.length < MIN_RECORD) throw new CorruptError(`history record of ${buf.length} bytes`);
  if (buf[0] !== RECORD_FORMAT) throw new CorruptError(`history record format ${buf[0]}`);
  const flags = buf[1]!;
  if ((flags & ~FLAG_TOMBSTONE) !== 0) throw new CorruptError(`history record flags ${flags}`);
  // Plain byte reads rather than a DataView: decoding is on every read's hot path.
  const keyLength = readU32(buf, 34);
  if (HEADER + keyLength + 8 > buf.length) throw new CorruptError('history record key length');
  const valueLength = readU32(buf, HEADER + keyLength);
  const end = HEADER + keyLength + 4 + valueLength;
  if (end + 4 !== buf.length) throw new CorruptError('history record value length');
  if (readU32(buf, end) !== crc32(buf.subarray(0, end))) throw new CorruptError('history record checksum');
  return {
    key: view(buf, HEADER, keyLength),
    createRevision: readU64(buf, 2, 'createRevision'),
    modRevision: readU64(buf, 10, 'modRevision'),
    version: readU64(buf, 18, 'version'),
    lease: readI64(buf, 26),
    value: withValue ? view(buf, HEADER + keyLength + 4, valueLength) : new Uint8Array(0),
    tombstone: flags === FLAG_TOMBSTONE,
  };
}

function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

function readI64(buf: Uint8Array, offset: number): bigint {
  const hi = readU32(buf, offset);
  const lo = readU32(buf, offset + 4);
  if (hi === 0 && lo === 0) return 0n; // most keys have no lease: skip BigInt arithmetic
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

// Meta record (value of META_STATE_KEY in the `meta` sub-db), big-endian:
//   0 u8 format = 2 | 1 u64 appliedIndex | 9 u64 currentRevision | 17 u64 compactRevision + 1
//   | 25 u32 CRC-32 of bytes 0..24
// compactRevision is -1 until the first compaction (etcd accepts compaction at 0 on a fresh
// store), hence the +1 bias.
// Format 2 (the key index in memory, rebuilt from `kv`) writes the same fields as format 1 (the
// index in the `latest` and `keyrevs` tables); the number changed so that a Keyward of format 1
// refuses a directory whose index tables it would find empty. Both are read.

export const META_STATE_KEY = new TextEncoder().encode('state');
const META_FORMAT = 2;
const META_FORMATS_READ: readonly number[] = [1, 2];
const META_SIZE = 29;

export interface MetaState {
  appliedIndex: number;
  currentRevision: number;
  compactRevision: number;
}

export function encodeMeta(m: MetaState): Uint8Array {
  const out = new Uint8Array(META_SIZE);
  out[0] = META_FORMAT;
  writeU64(out, 1, m.appliedIndex);
  writeU64(out, 9, m.currentRevision);
  writeU64(out, 17, m.compactRevision + 1);
  dataView(out).setUint32(25, crc32(out.subarray(0, 25)));
  return out;
}

export function decodeMeta(buf: Uint8Array): MetaState {
  if (buf.length !== META_SIZE) throw new CorruptError(`meta record of ${buf.length} bytes`);
  if (!META_FORMATS_READ.includes(buf[0]!)) throw new CorruptError(`meta format ${buf[0]}`);
  if (readU32(buf, 25) !== crc32(buf.subarray(0, 25))) throw new CorruptError('meta checksum');
  const m = {
    appliedIndex: readU64(buf, 1, 'appliedIndex'),
    currentRevision: readU64(buf, 9, 'currentRevision'),
    compactRevision: readU64(buf, 17, 'compactRevision') - 1,
  };
  if (m.currentRevision < 1 || m.compactRevision > m.currentRevision) {
    throw new CorruptError(`meta revisions current=${m.currentRevision} compact=${m.compactRevision}`);
  }
  return m;
}
