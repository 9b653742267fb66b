// A tiny in-memory reference model of etcd's KV semantics, written independently of src/mvcc and
// for obviousness, not speed: it keeps a full copy of the key space for every revision. Requests
// are assumed to have passed validation (the model test only feeds it validated requests).
import type {
  Compare,
  DeleteRangeRequest,
  KeyValue,
  PutRequest,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
} from '../../src/wire/index.js';
import type { WriteRequest } from '../../src/mvcc/index.js';

type State = Map<string, KeyValue>; // latin1 key → kv

export type ModelResult =
  | { ok: true; response: unknown; events: ModelEvent[] }
  | { ok: false; code: string };

export interface ModelEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv: KeyValue | undefined;
}

class Fail extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const hdr = (revision: number): ResponseHeader => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0 });
const byteCmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));

function inRange(k: string, key: string, end: string): boolean {
  if (end === '') return k === key;
  if (end === '\0') return byteCmp(k, key) >= 0;
  return byteCmp(k, key) >= 0 && byteCmp(k, end) < 0;
}

function keysIn(state: State, key: Uint8Array, end: Uint8Array): KeyValue[] {
  const kk = s(key);
  const ee = s(end);
  return [...state.entries()]
    .filter(([k]) => inRange(k, kk, ee))
    .sort(([a], [b]) => byteCmp(a, b))
    .map(([, v]) => v);
}

export class Model {
  rev = 1;
  compact = -1;
  private readonly snaps = new Map<number, State>([[1, new Map()]]);

  private state(rev: number): State {
    const st = this.snaps.get(rev);
    if (!st) throw new Error(`model has no snapshot at ${rev}`);
    return st;
  }

  range(req: RangeRequest): { ok: true; response: RangeResponse } | { ok: false; code: string } {
    try {
      return { ok: true, response: this.rangeAt(req, this.rev, this.state(this.rev)) };
    } catch (e) {
      if (e instanceof Fail) return { ok: false, code: e.code };
      throw e;
    }
  }

  /** Range with `cur` as the current revision whose state is `curState`. */
  private rangeAt(req: RangeRequest, cur: number, curState: State): RangeResponse {
    let rev = req.revision;
    if (rev > cur) throw new Fail('FUTURE_REV');
    if (rev <= 0) rev = cur;
    if (rev < this.compact) throw new Fail('COMPACTED');
    const st = rev === cur ? curState : this.state(rev);
    let kvs = keysIn(st, req.key, req.rangeEnd);
    const count = kvs.length;
    if (req.countOnly) return { header: hdr(cur), kvs: [], more: false, count };
    kvs = kvs.filter(
      (kv) =>
        (req.maxModRevision === 0 || kv.modRevision <= req.maxModRevision) &&
        (req.minModRevision === 0 || kv.modRevision >= req.minModRevision) &&
        (req.maxCreateRevision === 0 || kv.createRevision <= req.maxCreateRevision) &&
        (req.minCreateRevision === 0 || kv.createRevision >= req.minCreateRevision),
    );
    // etcd 3.4: with sort_order NONE and no filter only the first limit+1 keys are fetched and sorted.
    const filtered = req.minModRevision !== 0 || req.maxModRevision !== 0 || req.minCreateRevision !== 0 || req.maxCreateRevision !== 0;
    if (req.sortOrder === 0 && !filtered && req.limit > 0) kvs = kvs.slice(0, req.limit + 1);
    const order = req.sortOrder === 0 && req.sortTarget !== 0 ? 1 : req.sortOrder;
    if (order !== 0) {
      const field = (kv: KeyValue): number | string =>
        [s(kv.key), kv.version, kv.createRevision, kv.modRevision, s(kv.value)][req.sortTarget]!;
      const c = (a: KeyValue, b: KeyValue): number => {
        const x = field(a);
        const y = field(b);
        return typeof x === 'string' ? byteCmp(x, y as string) : x - (y as number);
      };
      kvs = [...kvs].sort((a, b) => (order === 2 ? -c(a, b) : c(a, b)));
    }
    let more = false;
    if (req.limit > 0 && kvs.length > req.limit) {
      kvs = kvs.slice(0, req.limit);
      more = true;
    }
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
    return { header: hdr(cur), kvs, more, count };
  }

  apply(req: WriteRequest): ModelResult {
    const begin = this.rev;
    const work: State = new Map(this.state(begin));
    const ctx = { changes: 0, events: [] as ModelEvent[] };
    try {
      let response: unknown;
      switch (req.type) {
        case 'put': {
          const p = req.put;
          if ((p.ignoreValue || p.ignoreLease) && !work.has(s(p.key))) throw new Fail('KEY_NOT_FOUND');
          response = this.put(p, begin, work, ctx);
          break;
        }
        case 'deleteRange':
          response = this.del(req.deleteRange, begin, work, ctx);
          break;
        case 'txn':
          response = this.txn(req.txn, begin, work, ctx);
          break;
        case 'compaction': {
          const r = req.compaction.revision;
          if (r <= this.compact) throw new Fail('COMPACTED');
          if (r > this.rev) throw new Fail('FUTURE_REV');
          this.compact = r;
          response = { header: hdr(this.rev) };
          break;
        }
      }
      if (ctx.changes > 0) {
        this.rev = begin + 1;
        this.snaps.set(this.rev, work);
      }
      return { ok: true, response, events: ctx.events };
    } catch (e) {
      if (e instanceof Fail) return { ok: false, code: e.code };
      throw e;
    }
  }

  private put(p: PutRequest, begin: number, work: State, ctx: { changes: number; events: ModelEvent[] }): unknown {
    const rev = begin + 1;
    const prev = work.get(s(p.key));
    ctx.changes++;
    const kv: KeyValue = {
      key: p.key,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      value: p.ignoreValue ? prev!.value : p.value,
      lease: p.ignoreLease ? prev!.lease : p.lease,
    };
    work.set(s(p.key), kv);
    ctx.events.push({ type: 'put', kv, prevKv: prev });
    return { header: hdr(rev), prevKv: p.prevKv ? prev : undefined };
  }

  private del(d: DeleteRangeRequest, begin: number, work: State, ctx: { changes: number; events: ModelEvent[] }): unknown {
    const victims = keysIn(work, d.key, d.rangeEnd);
    for (const v of victims) {
      work.delete(s(v.key));
      ctx.changes++;
      ctx.events.push({
        type: 'delete',
        kv: { key: v.key, createRevision: 0, modRevision: begin + 1, version: 0, value: new Uint8Array(0), lease: 0n },
        prevKv: v,
      });
    }
    return { header: hdr(ctx.changes > 0 ? begin + 1 : begin), deleted: victims.length, prevKvs: d.prevKv ? victims : [] };
  }

  private txn(t: TxnRequest, begin: number, work: State, ctx: { changes: number; events: ModelEvent[] }): unknown {
    const pre = new Map(work);
    // 1. decide every branch against the state before the txn
    const decide = (x: TxnRequest): boolean => x.compare.every((c) => this.holds(c, pre));
    // 2. check the executed path against the same state
    const checkPuts = (x: TxnRequest): void => {
      for (const op of decide(x) ? x.success : x.failure) {
        if (op.type === 'txn') checkPuts(op.txn);
        if (op.type === 'put' && (op.put.ignoreValue || op.put.ignoreLease) && !pre.has(s(op.put.key))) throw new Fail('KEY_NOT_FOUND');
      }
    };
    const checkRanges = (x: TxnRequest): void => {
      for (const op of decide(x) ? x.success : x.failure) {
        if (op.type === 'txn') checkRanges(op.txn);
        if (op.type === 'range') {
          if (op.range.revision > begin) throw new Fail('FUTURE_REV');
          if (op.range.revision !== 0 && op.range.revision < this.compact) throw new Fail('COMPACTED');
        }
      }
    };
    checkPuts(t);
    checkRanges(t);
    // 3. execute
    const run = (x: TxnRequest): { header: ResponseHeader; succeeded: boolean; responses: ResponseOp[] } => {
      const succeeded = decide(x);
      const responses: ResponseOp[] = [];
      for (const op of succeeded ? x.success : x.failure) {
        switch (op.type) {
          case 'range': {
            const readRev = ctx.changes > 0 ? begin + 1 : begin;
            responses.push({ type: 'range', range: this.rangeAt(op.range, readRev, work) });
            break;
          }
          case 'put':
            responses.push({ type: 'put', put: this.put(op.put, begin, work, ctx) as never });
            break;
          case 'deleteRange':
            responses.push({ type: 'deleteRange', deleteRange: this.del(op.deleteRange, begin, work, ctx) as never });
            break;
          case 'txn':
            responses.push({ type: 'txn', txn: run(op.txn) as never });
            break;
          case 'none':
            throw new Error('model: {} op');
        }
      }
      return { header: hdr(0), succeeded, responses };
    };
    const out = run(t);
    out.header = hdr(ctx.changes > 0 ? begin + 1 : begin);
    return out;
  }

  private holds(c: Compare, st: State): boolean {
    const kvs = keysIn(st, c.key, c.rangeEnd);
    if (kvs.length === 0) {
      if (c.target === 3) return false;
      return this.cmpOne(c, { key: c.key, createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n });
    }
    return kvs.every((kv) => this.cmpOne(c, kv));
  }

  private cmpOne(c: Compare, kv: KeyValue): boolean {
    const o = c.operand;
    let r: number;
    if (c.target === 0) r = Math.sign(kv.version - (o.kind === 'version' ? o.version : 0));
    else if (c.target === 1) r = Math.sign(kv.createRevision - (o.kind === 'createRevision' ? o.createRevision : 0));
    else if (c.target === 2) r = Math.sign(kv.modRevision - (o.kind === 'modRevision' ? o.modRevision : 0));
    else if (c.target === 3) r = byteCmp(s(kv.value), o.kind === 'value' ? s(o.value) : '');
    else {
      const want = o.kind === 'lease' ? o.lease : 0n;
      r = kv.lease === want ? 0 : kv.lease > want ? 1 : -1;
    }
    return [r === 0, r > 0, r < 0, r !== 0][c.result]!;
  }
}
