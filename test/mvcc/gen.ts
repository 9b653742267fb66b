// Seeded generators of valid requests, shared by the model test and the etcd differential test.
import type { Compare, CompareOperand, RangeRequest, RequestOp, TxnRequest } from '../../src/wire/index.js';
import { MvccError, validateTxn, type WriteRequest } from '../../src/mvcc/index.js';
import { putReq, delReq, rangeReq } from './helpers.js';

/** What the generator needs to know about the store it targets. */
export interface RevisionState {
  rev: number;
  compact: number;
}

export type Rand = () => number;

export { mulberry32 } from '../harness/prng.js';

const KEYS = ['a', 'a/1', 'a/2', 'a0', 'b', 'b\0', 'b\0\0', 'b\x01', 'c', 'd\xff', '\0'];
const ENDS = ['', '', '', '\0', 'a/', 'a0', 'a1', 'b', 'b\0\x01', 'c', 'd', 'e', 'a'];
const bytes = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'latin1'));

export class Gen {
  /** Lease IDs to draw from; the etcd differential test uses only 0 (etcd checks leases exist). */
  leases: bigint[] = [0n, 0n, 1n, 7n, -5n, 2n ** 62n];
  constructor(
    readonly r: Rand,
    readonly model: RevisionState,
  ) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  /** A revision around the interesting area: compacted, valid, current, future, 0, negative. */
  revision(): number {
    const m = this.model;
    switch (this.int(6)) {
      case 0:
        return 0;
      case 1:
        return -1 - this.int(3);
      case 2:
        return m.rev + this.int(2); // current or future
      default:
        return Math.max(1, m.compact - 1 + this.int(m.rev - m.compact + 2));
    }
  }
  value(): string {
    return this.pick(['', 'x', 'y', 'xy', 'x\0', 'z'.repeat(1 + this.int(40))]);
  }
  lease(): bigint {
    return this.pick(this.leases);
  }

  range(inTxn: boolean): RangeRequest {
    const key = this.pick(KEYS);
    const end = this.pick(ENDS);
    const r = rangeReq(bytes(key), { end: bytes(end) });
    if (this.chance(0.4)) r.revision = inTxn && this.chance(0.5) ? 0 : this.revision();
    if (this.chance(0.4)) r.limit = this.int(4) - 1;
    if (this.chance(0.4)) {
      r.sortOrder = this.int(3) as RangeRequest['sortOrder'];
      r.sortTarget = this.int(5) as RangeRequest['sortTarget'];
    }
    r.keysOnly = this.chance(0.2);
    r.countOnly = this.chance(0.1);
    if (this.chance(0.2)) r.minModRevision = this.int(this.model.rev + 1);
    if (this.chance(0.2)) r.maxModRevision = this.int(this.model.rev + 1);
    if (this.chance(0.1)) r.minCreateRevision = this.int(this.model.rev + 1);
    if (this.chance(0.1)) r.maxCreateRevision = this.int(this.model.rev + 1);
    return r;
  }

  put(): ReturnType<typeof putReq> {
    const p = putReq(bytes(this.pick(KEYS)), bytes(this.value()), { lease: this.lease(), prevKv: this.chance(0.5) });
    if (this.chance(0.12)) {
      p.ignoreValue = true;
      p.value = new Uint8Array(0);
    }
    if (this.chance(0.12)) {
      p.ignoreLease = true;
      p.lease = 0n;
    }
    return p;
  }

  del(): ReturnType<typeof delReq> {
    return delReq(bytes(this.pick(KEYS)), bytes(this.pick(ENDS)), this.chance(0.5));
  }

  compare(): Compare {
    const target = this.int(5) as Compare['target'];
    const kinds: CompareOperand[] = [
      { kind: 'version', version: this.int(4) },
      { kind: 'createRevision', createRevision: this.int(this.model.rev + 2) },
      { kind: 'modRevision', modRevision: this.int(this.model.rev + 2) },
      { kind: 'value', value: bytes(this.value()) },
      { kind: 'lease', lease: this.lease() },
    ];
    // Mostly the operand matching the target; sometimes another kind or none.
    const operand = this.chance(0.8) ? kinds[target]! : this.chance(0.5) ? this.pick(kinds) : { kind: 'none' as const };
    return {
      key: bytes(this.pick(KEYS)),
      rangeEnd: bytes(this.chance(0.7) ? '' : this.pick(ENDS)),
      target,
      result: this.int(4) as Compare['result'],
      operand,
    };
  }

  ops(depth: number): RequestOp[] {
    return Array.from({ length: this.int(4) }, (): RequestOp => {
      const k = this.int(depth < 2 ? 10 : 9);
      if (k < 3) return { type: 'range', range: this.range(true) };
      if (k < 6) return { type: 'put', put: this.put() };
      if (k < 9) return { type: 'deleteRange', deleteRange: this.del() };
      return { type: 'txn', txn: this.txn(depth + 1) };
    });
  }

  txn(depth = 0): TxnRequest {
    return {
      compare: Array.from({ length: this.int(3) }, () => this.compare()),
      success: this.ops(depth),
      failure: this.ops(depth),
    };
  }

  /** A write request that passes validation (duplicate-key txns are re-drawn). */
  write(): WriteRequest {
    const k = this.int(20);
    if (k < 7) return { type: 'put', put: this.put() };
    if (k < 10) return { type: 'deleteRange', deleteRange: this.del() };
    if (k < 11) {
      const m = this.model;
      return { type: 'compaction', compaction: { revision: m.compact + this.int(Math.max(2, m.rev - m.compact + 2)), physical: this.chance(0.5) } };
    }
    for (;;) {
      const t = this.txn();
      try {
        validateTxn(t);
        return { type: 'txn', txn: t };
      } catch (e) {
        if (!(e instanceof MvccError)) throw e;
      }
    }
  }
}

/** JSON with bytes and bigints made comparable. */
export function norm(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
    if (typeof v === 'bigint') return `n:${v}`;
    return v;
  });
}

