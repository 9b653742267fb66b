// Binary codec for raft Messages, version 1.
//
// Layout of an encoded message (all multi-byte fixed fields big-endian):
//
//   u8      codec version (1)
//   u8      type code (TYPE_CODE below; codes are part of the wire format and never reused)
//   u64     from      member IDs are random 64-bit values, so a fixed 8 bytes beats a 10-byte varint
//   u64     to
//   uvarint term
//   ...     the variant's own fields, in the order written in encodeBody()
//
// where
//   uvarint  LEB128, at most 8 bytes, value <= Number.MAX_SAFE_INTEGER, no overlong (zero last byte)
//   bool     one byte, exactly 0 or 1
//   bytes    uvarint length, then that many bytes
//   ?bytes   u8 0 = null, 1 = present followed by bytes
//   entries  uvarint count, then per entry: uvarint term, uvarint index, u8 type (0 normal,
//            1 confChange), bytes data
//
// A MsgSnap puts the snapshot data last, so a sender can write the small head and then stream
// the data without copying it (encodeSnapshotHead).
//
// Example: {type:'voteResp', from:1n, to:2n, term:5, reject:false} encodes to 20 bytes:
//   01 0a 0000000000000001 0000000000000002 05 00
//
// Decoding never trusts a length: every declared length or count is checked against the bytes
// that remain before anything is sliced or looped over, and decoded byte fields are views into
// the input (no allocation proportional to a declared size). The caller must therefore hand in a
// buffer that nobody will overwrite afterwards.

import type { Entry, Message, MessageType, NodeId, Snapshot } from '../raft/index.js';
import { TransportError } from './errors.js';

export const CODEC_VERSION = 1;

/** Wire codes of message types. Local types are encodable too (for tests and tooling); the transport never sends them on its own. */
const TYPE_CODE: { readonly [T in MessageType]: number } = {
  hup: 1,
  beat: 2,
  checkQuorum: 3,
  unreachable: 4,
  snapStatus: 5,
  prop: 6,
  app: 7,
  appResp: 8,
  vote: 9,
  voteResp: 10,
  preVote: 11,
  preVoteResp: 12,
  snap: 13,
  heartbeat: 14,
  heartbeatResp: 15,
  transferLeader: 16,
  timeoutNow: 17,
  readIndex: 18,
  readIndexResp: 19,
};

const TYPE_OF_CODE: ReadonlyMap<number, MessageType> = new Map(
  (Object.entries(TYPE_CODE) as [MessageType, number][]).map(([t, c]) => [c, t]),
);

const U64_MAX = (1n << 64n) - 1n;
const MAX_VARINT_BYTES = 8; // 8 * 7 = 56 bits covers every safe integer (53 bits)
/** Smallest possible encoded entry: term, index, type, data length, one byte each. */
const MIN_ENTRY_BYTES = 4;

// ---- encoding -----------------------------------------------------------------------

class Writer {
  private buf: Uint8Array;
  private view: DataView;
  pos: number;

  constructor(capacity: number, reserve = 0) {
    this.buf = new Uint8Array(Math.max(capacity, 16));
    this.view = new DataView(this.buf.buffer);
    this.pos = reserve;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  bool(v: boolean, field: string): void {
    if (typeof v !== 'boolean') throw new TypeError(`transport codec: ${field} must be a boolean`);
    this.u8(v ? 1 : 0);
  }

  uvarint(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`transport codec: ${field} must be a non-negative safe integer, got ${String(n)}`);
    this.ensure(MAX_VARINT_BYTES);
    // Division, not bit shifts: JS shifts truncate to 32 bits and terms/indexes may exceed that.
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  u64(v: NodeId, field: string): void {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new TypeError(`transport codec: ${field} must be a bigint in [0, 2^64)`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  bytes(b: Uint8Array, field: string): void {
    if (!(b instanceof Uint8Array)) throw new TypeError(`transport codec: ${field} must be a Uint8Array`);
    this.uvarint(b.byteLength, field);
    this.raw(b);
  }

  optBytes(b: Uint8Array | null, field: string): void {
    if (b === null) {
      this.u8(0);
      return;
    }
    this.u8(1);
    this.bytes(b, field);
  }

  /** Writes a big-endian u32 at `at` (used for the frame length prefix reserved up front). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function writeEntries(w: Writer, ents: readonly Entry[]): void {
  if (!Array.isArray(ents)) throw new TypeError('transport codec: entries must be an array');
  w.uvarint(ents.length, 'entries.length');
  for (const e of ents) {
    w.uvarint(e.term, 'entry.term');
    w.uvarint(e.index, 'entry.index');
    if (e.type === 'normal') w.u8(0);
    else if (e.type === 'confChange') w.u8(1);
    else throw new TypeError(`transport codec: unknown entry type ${String(e.type)}`);
    w.bytes(e.data, 'entry.data');
  }
}

function writeIds(w: Writer, ids: readonly NodeId[], field: string): void {
  w.uvarint(ids.length, `${field}.length`);
  for (const id of ids) w.u64(id, field);
}

function writeEnvelope(w: Writer, m: Message): void {
  const code = TYPE_CODE[m.type];
  if (code === undefined) throw new TypeError(`transport codec: unknown message type ${String(m.type)}`);
  w.u8(CODEC_VERSION);
  w.u8(code);
  w.u64(m.from, 'from');
  w.u64(m.to, 'to');
  w.uvarint(m.term, 'term');
}

/** Everything of a snapshot except its data bytes, ending with the data length. */
function writeSnapshotHead(w: Writer, s: Snapshot): void {
  w.uvarint(s.metadata.index, 'snapshot.metadata.index');
  w.uvarint(s.metadata.term, 'snapshot.metadata.term');
  writeIds(w, s.metadata.confState.voters, 'snapshot.metadata.confState.voters');
  writeIds(w, s.metadata.confState.learners, 'snapshot.metadata.confState.learners');
  if (!(s.data instanceof Uint8Array)) throw new TypeError('transport codec: snapshot.data must be a Uint8Array');
  w.uvarint(s.data.byteLength, 'snapshot.data.length');
}

function writeBody(w: Writer, m: Message): void {
  switch (m.type) {
    case 'hup':
    case 'beat':
    case 'checkQuorum':
    case 'unreachable':
    case 'timeoutNow':
      return;
    case 'snapStatus':
    case 'voteResp':
    case 'preVoteResp':
      w.bool(m.reject, 'reject');
      return;
    case 'prop':
      writeEntries(w, m.entries);
      return;
    case 'app':
      w.uvarint(m.index, 'index');
      w.uvarint(m.logTerm, 'logTerm');
      w.uvarint(m.commit, 'commit');
      writeEntries(w, m.entries);
      return;
    case 'appResp':
      w.uvarint(m.index, 'index');
      w.bool(m.reject, 'reject');
      w.uvarint(m.rejectHint, 'rejectHint');
      w.uvarint(m.logTerm, 'logTerm');
      return;
    case 'vote':
      w.uvarint(m.index, 'index');
      w.uvarint(m.logTerm, 'logTerm');
      w.bool(m.transfer, 'transfer');
      return;
    case 'preVote':
      w.uvarint(m.index, 'index');
      w.uvarint(m.logTerm, 'logTerm');
      return;
    case 'snap':
      writeSnapshotHead(w, m.snapshot);
      w.raw(m.snapshot.data);
      return;
    case 'heartbeat':
      w.uvarint(m.commit, 'commit');
      w.optBytes(m.context, 'context');
      return;
    case 'heartbeatResp':
      w.optBytes(m.context, 'context');
      return;
    case 'transferLeader':
      w.u64(m.transferee, 'transferee');
      return;
    case 'readIndex':
      w.bytes(m.context, 'context');
      return;
    case 'readIndexResp':
      w.uvarint(m.index, 'index');
      w.bytes(m.context, 'context');
      return;
    default:
      return assertNever(m);
  }
}

function assertNever(m: never): never {
  const t = typeof m === 'object' && m !== null && 'type' in m ? String((m as { type: unknown }).type) : String(m);
  throw new TypeError(`transport codec: unknown message type ${t}`);
}

/** A capacity guess that avoids regrowing for the common shapes. */
function sizeHint(m: Message): number {
  let n = 64;
  if (m.type === 'app' || m.type === 'prop') for (const e of m.entries) n += e.data.byteLength + 24;
  else if (m.type === 'snap') n += m.snapshot.data.byteLength + 16 + 9 * (m.snapshot.metadata.confState.voters.length + m.snapshot.metadata.confState.learners.length);
  else if ('context' in m && m.context !== null) n += m.context.byteLength;
  return n;
}

/**
 * Encodes a message. Throws TypeError for a message no correct caller produces (negative or
 * unsafe numbers, IDs outside u64, unknown types): that is a local bug, not peer input.
 */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer(sizeHint(m));
  writeEnvelope(w, m);
  writeBody(w, m);
  return w.finish();
}

/** Bytes of a frame header: the big-endian u32 payload length. */
export const FRAME_HEADER_BYTES = 4;
/** Largest payload a frame header can describe. */
export const MAX_FRAME_PAYLOAD = 0xffff_ffff;

/** Encodes a message as a stream frame: u32 payload length, then the payload, in one buffer. */
export function encodeFrame(m: Message): Uint8Array {
  const w = new Writer(sizeHint(m) + FRAME_HEADER_BYTES, FRAME_HEADER_BYTES);
  writeEnvelope(w, m);
  writeBody(w, m);
  const len = w.pos - FRAME_HEADER_BYTES;
  if (len > MAX_FRAME_PAYLOAD) throw new TypeError('transport codec: message exceeds the 4 GiB frame limit');
  w.patchU32(0, len);
  return w.finish();
}

/**
 * The encoding of a MsgSnap split into its head (everything before the snapshot data) and the
 * data itself: head followed by data is exactly encodeMessage(m). Lets the sender stream a large
 * snapshot in chunks without copying it.
 */
export function encodeSnapshotHead(m: Message & { type: 'snap' }): Uint8Array {
  const w = new Writer(64 + 9 * (m.snapshot.metadata.confState.voters.length + m.snapshot.metadata.confState.learners.length));
  writeEnvelope(w, m);
  writeSnapshotHead(w, m.snapshot);
  return w.finish();
}

// ---- decoding -----------------------------------------------------------------------

class Reader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.byteLength - this.pos;
  }

  u8(field: string): number {
    if (this.remaining < 1) throw new TransportError('Truncated', `${field}: input ended`);
    return this.buf[this.pos++]!;
  }

  bool(field: string): boolean {
    const b = this.u8(field);
    if (b > 1) throw new TransportError('Malformed', `${field}: boolean byte ${b}`);
    return b === 1;
  }

  uvarint(field: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8(field);
      value += (b & 0x7f) * scale;
      if (value > Number.MAX_SAFE_INTEGER) throw new TransportError('Malformed', `${field}: number exceeds 2^53-1`);
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new TransportError('Malformed', `${field}: overlong varint`);
        return value;
      }
      scale *= 0x80;
    }
    throw new TransportError('Malformed', `${field}: varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  u64(field: string): bigint {
    if (this.remaining < 8) throw new TransportError('Truncated', `${field}: input ended`);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A declared length checked against what remains before it is used. */
  length(field: string, unit = 1): number {
    const n = this.uvarint(field);
    if (n * unit > this.remaining) throw new TransportError('Truncated', `${field}: declares ${n} items but only ${this.remaining} bytes remain`);
    return n;
  }

  raw(n: number): Uint8Array {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(field: string): Uint8Array {
    return this.raw(this.length(field));
  }

  optBytes(field: string): Uint8Array | null {
    return this.bool(`${field}.present`) ? this.bytes(field) : null;
  }
}

function readEntries(r: Reader): Entry[] {
  const n = r.length('entries.length', MIN_ENTRY_BYTES);
  const out: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) {
    const term = r.uvarint('entry.term');
    const index = r.uvarint('entry.index');
    const t = r.u8('entry.type');
    if (t > 1) throw new TransportError('Malformed', `entry.type: unknown code ${t}`);
    out[i] = { term, index, type: t === 0 ? 'normal' : 'confChange', data: r.bytes('entry.data') };
  }
  return out;
}

function readIds(r: Reader, field: string): NodeId[] {
  const n = r.length(`${field}.length`, 8);
  const out: NodeId[] = new Array<NodeId>(n);
  for (let i = 0; i < n; i++) out[i] = r.u64(field);
  return out;
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.uvarint('snapshot.metadata.index');
  const term = r.uvarint('snapshot.metadata.term');
  const voters = readIds(r, 'snapshot.metadata.confState.voters');
  const learners = readIds(r, 'snapshot.metadata.confState.learners');
  const data = r.bytes('snapshot.data');
  return { data, metadata: { index, term, confState: { voters, learners } } };
}

/**
 * Decodes one message. Any input that is not exactly one valid version-1 message, or is longer
 * than `maxBytes`, is a TransportError; nothing else is ever thrown. Byte fields of the result
 * are views into `buf`.
 */
export function decodeMessage(buf: Uint8Array, maxBytes: number = Number.MAX_SAFE_INTEGER): Message {
  if (!(buf instanceof Uint8Array)) throw new TypeError('transport codec: decodeMessage needs a Uint8Array');
  if (buf.byteLength > maxBytes) throw new TransportError('TooLarge', `message of ${buf.byteLength} bytes exceeds ${maxBytes}`);
  const r = new Reader(buf);
  const version = r.u8('version');
  if (version !== CODEC_VERSION) throw new TransportError('UnsupportedVersion', `codec version ${version}`);
  const code = r.u8('type');
  const type = TYPE_OF_CODE.get(code);
  if (type === undefined) throw new TransportError('Malformed', `unknown message type code ${code}`);
  const from = r.u64('from');
  const to = r.u64('to');
  const term = r.uvarint('term');
  const m = readBody(r, type, from, to, term);
  if (r.remaining !== 0) throw new TransportError('Malformed', `${r.remaining} trailing bytes after ${type}`);
  return m;
}

function readBody(r: Reader, type: MessageType, from: NodeId, to: NodeId, term: number): Message {
  switch (type) {
    case 'hup':
    case 'beat':
    case 'checkQuorum':
    case 'unreachable':
    case 'timeoutNow':
      return { type, from, to, term };
    case 'snapStatus':
    case 'voteResp':
    case 'preVoteResp':
      return { type, from, to, term, reject: r.bool('reject') };
    case 'prop':
      return { type, from, to, term, entries: readEntries(r) };
    case 'app': {
      const index = r.uvarint('index');
      const logTerm = r.uvarint('logTerm');
      const commit = r.uvarint('commit');
      return { type, from, to, term, index, logTerm, commit, entries: readEntries(r) };
    }
    case 'appResp': {
      const index = r.uvarint('index');
      const reject = r.bool('reject');
      const rejectHint = r.uvarint('rejectHint');
      const logTerm = r.uvarint('logTerm');
      return { type, from, to, term, index, reject, rejectHint, logTerm };
    }
    case 'vote': {
      const index = r.uvarint('index');
      const logTerm = r.uvarint('logTerm');
      return { type, from, to, term, index, logTerm, transfer: r.bool('transfer') };
    }
    case 'preVote': {
      const index = r.uvarint('index');
      return { type, from, to, term, index, logTerm: r.uvarint('logTerm') };
    }
    case 'snap':
      return { type, from, to, term, snapshot: readSnapshot(r) };
    case 'heartbeat': {
      const commit = r.uvarint('commit');
      return { type, from, to, term, commit, context: r.optBytes('context') };
    }
    case 'heartbeatResp':
      return { type, from, to, term, context: r.optBytes('context') };
    case 'transferLeader':
      return { type, from, to, term, transferee: r.u64('transferee') };
    case 'readIndex':
      return { type, from, to, term, context: r.bytes('context') };
    case 'readIndexResp': {
      const index = r.uvarint('index');
      return { type, from, to, term, index, context: r.bytes('context') };
    }
    default:
      return assertNever(type);
  }
}
