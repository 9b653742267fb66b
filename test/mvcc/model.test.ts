// Property test: the store against the reference model (model.ts) over seeded random sequences
// of puts, deletes, txns (nested, with compares and historical ranges), compactions and ranges at
// random revisions, applied in random batches, with reopens and replays mixed in. After every
// batch the raw sub-databases must satisfy the key index invariants.
//
// A failure prints the seed and step; rerun one seed with MVCC_MODEL_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RangeRequest } from '../../src/wire/index.js';
import { MvccError, type WriteRequest, type WriteResult } from '../../src/mvcc/index.js';
import { Model, type ModelResult } from './model.js';
import { withFixture, type Fixture } from './helpers.js';
import { Gen, mulberry32, norm } from './gen.js';

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
