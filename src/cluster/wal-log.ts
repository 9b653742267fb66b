// A stop-gap durable LogStore until src/storage's LMDB Raft log store lands: raft's MemoryStorage
// in memory, plus an append-only file of every change (hard state, entries, snapshot points,
// compactions), fdatasynced when the Ready must sync. On open the file is replayed into memory; a
// torn or corrupt record at the tail (a crash mid-append) ends the replay there, which is safe
// because nothing after an unsynced append was acknowledged or sent.
//
// Record: u32 body length, u32 FNV-1a checksum of the body, body = u8 type + payload.
// Known limits (why it is a stop-gap): the file is never rewritten, so it grows with every write,
// and the whole retained log is held in memory.

import { closeSync, fdatasync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, write } from 'node:fs';
import { join } from 'node:path';
import { MemoryStorage } from '../raft/index.js';
import type { ConfState, Entry, EntryType, HardState, InitialState, Snapshot } from '../raft/index.js';
import type { LogStore, ReadyWrite } from './log.js';

const T_HARD = 1;
const T_ENTRIES = 2;
const T_SNAP = 3;
const T_COMPACT = 4;

class Writer {
  private buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);
  len = 0;
  private need(n: number): void {
    if (this.len + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.need(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.need(4);
    this.dv.setUint32(this.len, v);
    this.len += 4;
  }
  num(v: number): void {
    this.need(8);
    this.dv.setBigUint64(this.len, BigInt(v));
    this.len += 8;
  }
  big(v: bigint): void {
    this.need(8);
    this.dv.setBigUint64(this.len, v);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.byteLength);
    this.need(b.byteLength);
    this.buf.set(b, this.len);
    this.len += b.byteLength;
  }
  ids(ids: readonly bigint[]): void {
    this.u32(ids.length);
    for (const id of ids) this.big(id);
  }
  out(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

class Reader {
  off = 0;
  private readonly dv: DataView;
  constructor(private readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): void {
    if (this.off + n > this.b.byteLength) throw new RangeError('short record');
  }
  get done(): boolean {
    return this.off >= this.b.byteLength;
  }
  u8(): number {
    this.need(1);
    return this.b[this.off++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.off);
    this.off += 4;
    return v;
  }
  num(): number {
    this.need(8);
    const v = Number(this.dv.getBigUint64(this.off));
    this.off += 8;
    return v;
  }
  big(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.off);
    this.off += 8;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  ids(): bigint[] {
    const n = this.u32();
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(this.big());
    return out;
  }
}

function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.byteLength; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

export class WalLog implements LogStore {
  private readonly mem = new MemoryStorage();
  private readonly fd: number;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(readonly path: string) {
    let data: Uint8Array = new Uint8Array(0);
    try {
      data = readFileSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const good = this.replay(data);
    this.fd = openSync(path, 'a+', 0o600);
    // Drop a torn tail so later appends follow the last good record.
    if (good < fstatSync(this.fd).size) ftruncateSync(this.fd, good);
  }

  static open(dir: string): WalLog {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new WalLog(join(dir, 'raft.wal'));
  }

  private replay(data: Uint8Array): number {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off + 8 <= data.byteLength) {
      const len = dv.getUint32(off);
      const sum = dv.getUint32(off + 4);
      if (off + 8 + len > data.byteLength) break;
      const body = data.subarray(off + 8, off + 8 + len);
      if (fnv1a(body) !== sum) break;
      this.applyRecord(new Reader(body));
      off += 8 + len;
    }
    return off;
  }

  private applyRecord(r: Reader): void {
    while (!r.done) {
      const type = r.u8();
      switch (type) {
        case T_HARD:
          this.mem.setHardState({ term: r.num(), vote: r.big(), commit: r.num() });
          break;
        case T_ENTRIES: {
          const n = r.u32();
          const ents: Entry[] = [];
          for (let i = 0; i < n; i++) {
            const term = r.num();
            const index = r.num();
            const t = ENTRY_TYPES[r.u8()];
            if (t === undefined) throw new Error('raft wal: bad entry type');
            ents.push({ term, index, type: t, data: r.bytes() });
          }
          this.mem.append(ents);
          break;
        }
        case T_SNAP: {
          const index = r.num();
          const term = r.num();
          const confState = { voters: r.ids(), learners: r.ids() };
          this.installSnapshot({ data: new Uint8Array(0), metadata: { index, term, confState } });
          break;
        }
        case T_COMPACT: {
          const i = r.num();
          if (i >= this.mem.firstIndex() && i <= this.mem.lastIndex()) this.mem.compact(i);
          break;
        }
        default:
          throw new Error(`raft wal: unknown record type ${type}`);
      }
    }
  }

  /** A snapshot point: either one we created (entries up to it are in the log) or one received. */
  private installSnapshot(s: Snapshot): void {
    const i = s.metadata.index;
    if (i <= this.mem.snapshot().metadata.index) return;
    if (i <= this.mem.lastIndex() && i >= this.mem.firstIndex() - 1) {
      let term = -1;
      try {
        term = this.mem.term(i);
      } catch {
        term = -1;
      }
      if (term === s.metadata.term) {
        this.mem.createSnapshot(i, s.metadata.confState, s.data);
        return;
      }
    }
    this.mem.applySnapshot(s);
  }

  initialState(): InitialState {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.mem.entries(lo, hi, maxSize);
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  snapshot(): Snapshot {
    return this.mem.snapshot();
  }

  save(w: ReadyWrite, sync: boolean): Promise<void> {
    const out = new Writer();
    if (w.snapshot !== null) {
      this.mem.applySnapshot(w.snapshot);
      this.snapRecord(out, w.snapshot.metadata.index, w.snapshot.metadata.term, w.snapshot.metadata.confState);
    }
    if (w.entries.length > 0) {
      this.mem.append(w.entries);
      out.u8(T_ENTRIES);
      out.u32(w.entries.length);
      for (const e of w.entries) {
        out.num(e.term);
        out.num(e.index);
        out.u8(e.type === 'normal' ? 0 : 1);
        out.bytes(e.data);
      }
    }
    if (w.hardState !== null) {
      this.mem.setHardState(w.hardState);
      this.hardRecord(out, w.hardState);
    }
    return this.append(out.out(), sync);
  }

  createSnapshot(index: number, confState: ConfState): Promise<void> {
    if (index <= this.mem.snapshot().metadata.index) return Promise.resolve();
    const s = this.mem.createSnapshot(index, confState, new Uint8Array(0));
    const out = new Writer();
    this.snapRecord(out, index, s.metadata.term, confState);
    return this.append(out.out(), true);
  }

  compact(index: number): Promise<void> {
    if (index < this.mem.firstIndex() || index > this.mem.snapshot().metadata.index) return Promise.resolve();
    this.mem.compact(index);
    const out = new Writer();
    out.u8(T_COMPACT);
    out.num(index);
    return this.append(out.out(), false);
  }

  close(): Promise<void> {
    if (this.closed) return this.tail;
    this.closed = true;
    this.tail = this.tail.then(() => closeSync(this.fd));
    return this.tail;
  }

  private snapRecord(out: Writer, index: number, term: number, cs: ConfState): void {
    out.u8(T_SNAP);
    out.num(index);
    out.num(term);
    out.ids(cs.voters);
    out.ids(cs.learners);
  }

  private hardRecord(out: Writer, hs: HardState): void {
    out.u8(T_HARD);
    out.num(hs.term);
    out.big(hs.vote);
    out.num(hs.commit);
  }

  private append(body: Uint8Array, sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new TypeError('raft wal is closed'));
    const rec = new Uint8Array(8 + body.byteLength);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, body.byteLength);
    dv.setUint32(4, fnv1a(body));
    rec.set(body, 8);
    // Appends are chained so records land in call order; a sync covers every earlier append.
    const p = this.tail.then(
      () =>
        new Promise<void>((resolve, reject) => {
          write(this.fd, rec, 0, rec.byteLength, null, (err) => {
            if (err) return reject(err);
            if (!sync) return resolve();
            fdatasync(this.fd, (e2) => (e2 ? reject(e2) : resolve()));
          });
        }),
    );
    this.tail = p.catch(() => undefined);
    return p;
  }
}
