// Property test: the store against the reference model (model.ts) over seeded random sequences
// of puts, deletes, txns (nested, with compares and historical ranges), compactions and ranges at
// random revisions, applied in random batches, with reopens and replays mixed in. After every
// batch the raw sub-databases must satisfy the key index invariants.
//
// A failure prints the seed and step; rerun one seed with MVCC_MODEL_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Compare, CompareOperand, RangeRequest, RequestOp, TxnRequest } from '../../src/wire/index.js';
import { MvccError, validateTxn, type WriteRequest, type WriteResult } from '../../src/mvcc/index.js';
import { Model, type ModelResult } from './model.js';
import { withFixture, putReq, delReq, rangeReq, type Fixture } from './helpers.js';

type Rand = () => number;

function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['a', 'a/1', 'a/2', 'a0', 'b', 'b\0', 'b\0\0', 'b\x01', 'c', 'd\xff', '\0'];
const ENDS = ['', '', '', '\0', 'a/', 'a0', 'a1', 'b', 'b\0\x01', 'c', 'd', 'e', 'a'];
const bytes = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'latin1'));

class Gen {
  constructor(
    readonly r: Rand,
    readonly model: Model,
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
    return this.pick([0n, 0n, 1n, 7n, -5n, 2n ** 62n]);
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
function norm(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
    if (typeof v === 'bigint') return `n:${v}`;
    return v;
  });
}

function storeResult(r: WriteResult, events: unknown): string {
  if (r.ok) return norm({ ok: true, response: r.response, events });
  if (r.skipped) return 'skipped';
  return norm({ ok: false, code: r.error.code });
}

function modelResult(r: ModelResult): string {
  return r.ok ? norm({ ok: true, response: r.response, events: r.events }) : norm({ ok: false, code: r.code });
}

function storeRange(f: Fixture, req: RangeRequest): string {
  try {
    return norm({ ok: true, response: f.store.range(req) });
  } catch (e) {
    if (e instanceof MvccError) return norm({ ok: false, code: e.code });
    throw e;
  }
}

async function runSeed(seed: number, steps: number): Promise<void> {
  await withFixture(async (f) => {
    const model = new Model();
    const g = new Gen(mulberry32(seed), model);
    let lastBatch: { index: number; request: WriteRequest }[] = [];
    const recorded: string[] = []; // normalized events, in revision order
    const recordedRev: number[] = [];
    for (let step = 0; step < steps; step++) {
      const where = `seed ${seed} step ${step}`;
      const what = g.int(10);
      if (what < 6) {
        const reqs = Array.from({ length: 1 + g.int(g.chance(0.2) ? 16 : 3) }, () => g.write());
        const batch = reqs.map((request) => ({ index: f.nextIndex++, request }));
        const out = await f.store.apply(batch);
        for (let i = 0; i < reqs.length; i++) {
          const m = model.apply(reqs[i]!);
          if (m.ok) {
            for (const e of m.events) {
              recorded.push(norm(e));
              recordedRev.push(e.kv.modRevision);
            }
          }
          const expected = modelResult(m);
          const actual = storeResult(out.results[i]!, out.events[i]);
          if (actual !== expected) {
            assert.fail(`${where} entry ${i}: ${norm(reqs[i])}\n store: ${actual}\n model: ${expected}`);
          }
        }
        lastBatch = batch;
        f.checkInvariants();
      } else if (what < 7 && g.chance(0.5)) {
        // Watch catch-up: history from a revision after the compaction equals the events applied.
        const from = Math.max(1, model.compact + 1) + g.int(Math.max(1, model.rev - model.compact + 1));
        const limit = 1 + g.int(8);
        const got: string[] = [];
        let next = from;
        for (;;) {
          const page = f.store.changes(next, { limit, prevKv: true });
          // A page only goes past the limit to finish the revision it reached the limit in.
          const lastRev = page.events.at(-1)?.kv.modRevision;
          assert.ok(page.events.filter((e) => e.kv.modRevision !== lastRev).length < limit, `${where}: page too long`);
          if (page.events.length > 0) assert.ok(page.events[0]!.kv.modRevision >= next, `${where}: page starts before ${next}`);
          got.push(...page.events.map((e) => norm(e)));
          assert.ok(page.nextRevision > next || page.events.length === 0, `${where}: no progress`);
          if (page.events.length === 0) break;
          next = page.nextRevision;
        }
        const want = recorded.filter((_, i) => recordedRev[i]! >= from);
        assert.deepEqual(got, want, `${where}: history from ${from}`);
        if (model.compact > 1) {
          assert.throws(() => f.store.changes(model.compact - 1), (e: unknown) => e instanceof MvccError && e.code === 'COMPACTED');
        }
      } else if (what < 9) {
        for (let i = 0; i < 3; i++) {
          const req = g.range(false);
          const m = model.range(req);
          const expected = m.ok ? norm({ ok: true, response: m.response }) : norm({ ok: false, code: m.code });
          const actual = storeRange(f, req);
          if (actual !== expected) assert.fail(`${where} range ${norm(req)}\n store: ${actual}\n model: ${expected}`);
        }
      } else if (g.chance(0.5)) {
        await f.reopen();
      } else if (lastBatch.length > 0) {
        const before = `${f.store.currentRevision}/${f.store.appliedIndex}`;
        const replay = await f.store.apply(lastBatch);
        assert.ok(replay.results.every((r) => !r.ok && r.skipped), `${where}: replay not skipped`);
        assert.equal(`${f.store.currentRevision}/${f.store.appliedIndex}`, before, `${where}: replay changed state`);
      }
      assert.equal(f.store.currentRevision, model.rev, `${where}: revision`);
      assert.equal(f.store.compactRevision, model.compact, `${where}: compact revision`);
    }
  });
}

const only = process.env.MVCC_MODEL_SEED;
const seeds = only !== undefined ? [Number(only)] : [1, 2, 3, 4, 5, 6];

for (const seed of seeds) {
  test(`store matches the reference model (seed ${seed})`, async () => {
    await runSeed(seed, only !== undefined ? 1500 : 300);
  });
}
