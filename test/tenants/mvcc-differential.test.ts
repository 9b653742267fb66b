import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyMapper,
  deleteRangeRequestToInternal,
  deleteRangeResponseToExternal,
  putRequestToInternal,
  putResponseToExternal,
  rangeRequestToInternal,
  rangeResponseToExternal,
  txnRequestToInternal,
  txnResponseToExternal,
} from '../../src/tenants/index.js';
import type { WriteRequest } from '../../src/mvcc/index.js';
import { CompareResult, CompareTarget, type DeleteRangeResponse, type PutResponse, type RangeRequest, type TxnRequest, type TxnResponse } from '../../src/wire/index.js';
import { prefixEnd } from '../../src/adt/index.js';
import { Fixture, delReq, op, putReq, rangeReq } from '../mvcc/helpers.js';
import { mulberry32, type Rand } from '../mvcc/gen.js';
import { b, s } from './helpers.js';

// Translation against the real key space (GUARANTEES A1-A4): two tenants whose names are prefix
// of one another ("acme", "acme2") share one real mvcc store with translated requests, while a
// cluster administrator writes noise around their prefixes. Each tenant's translated-back answers
// must equal those of a private, untranslated store receiving the same requests — same keys,
// values, versions, counts, `more`, txn outcomes and errors (revisions differ: the shared store
// interleaves). A range that leaked past a tenant's edge, or missed a key inside it, shows here.

const ALPHABET = ['\0', '\x01', '/', 'a', '2', '\xfe', '\xff'];

function randKey(rand: Rand, min = 1, max = 3): string {
  const n = min + Math.floor(rand() * (max - min + 1));
  let k = '';
  for (let i = 0; i < n; i++) k += ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
  return k;
}

function randEnd(rand: Rand, key: string): string {
  const x = rand();
  if (x < 0.3) return '';
  if (x < 0.45) return '\0';
  if (x < 0.7) return s(prefixEnd(b(key)));
  return randKey(rand, 1, 3);
}

function randRange(rand: Rand): RangeRequest {
  const key = rand() < 0.03 ? '' : randKey(rand);
  return rangeReq(b(key), { end: b(randEnd(rand, key)), limit: rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 0, keysOnly: rand() < 0.2, countOnly: rand() < 0.1, sortOrder: rand() < 0.2 ? 2 : 0 });
}

function randTxn(rand: Rand): TxnRequest {
  const k = randKey(rand);
  const compare = [{ key: b(k), rangeEnd: b(rand() < 0.3 ? '\0' : ''), target: CompareTarget.VERSION, result: CompareResult.GREATER, operand: { kind: 'version' as const, version: 0 } }];
  const success = [op.put(putReq(b(randKey(rand)), 'ts', { prevKv: true })), op.range(randRange(rand))];
  const failure = [op.del(delReq(b(k), b(randEnd(rand, k)), true)), op.txn({ compare: [], success: [op.range(randRange(rand))], failure: [] })];
  return { compare, success, failure };
}

/** Answers without revisions (which differ between the stores), keys and values as text. */
function norm(x: unknown): unknown {
  if (x instanceof Uint8Array) return s(x);
  if (typeof x === 'bigint') return x.toString();
  if (Array.isArray(x)) return x.map(norm);
  if (x !== null && typeof x === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'header' || k === 'createRevision' || k === 'modRevision') continue;
      o[k] = norm(v);
    }
    return o;
  }
  return x;
}

const errCode = (e: unknown): string => `error ${(e as { code?: string }).code ?? String(e)}`;

async function write(f: Fixture, req: WriteRequest): Promise<{ ok: true; response: unknown } | { ok: false; code: string }> {
  try {
    const r = await f.do(req);
    if (r.ok) return { ok: true, response: r.response };
    return { ok: false, code: r.skipped ? 'skipped' : r.error.code };
  } catch (e) {
    return { ok: false, code: errCode(e) };
  }
}

test('A1-A4: tenants acme and acme2 on one real store answer exactly as private untranslated stores (seeded)', async () => {
  const shared = new Fixture();
  const tenants = ['acme', 'acme2'].map((id) => ({ id, m: new KeyMapper(id), own: new Fixture() }));
  const noise = ['/t/acme', '/t/acme0', '/t/acme.', '/t/acmd/\xff', '/t/', '\0', '\xff\xff', '/t/acme2', '/t/acme20'];
  let compared = 0;
  let rangesWithKeys = 0;
  try {
    for (const seed of [11, 12]) {
      const rand = mulberry32(seed);
      for (let step = 0; step < 250; step++) {
        if (rand() < 0.1) {
          const n = noise[Math.floor(rand() * noise.length)]!;
          // The suffix has no "/", so the noise never lands inside a tenant ("/t/acme" + "2/" would).
          const suffix = rand() < 0.5 ? '' : randKey(rand, 0, 2).replaceAll('/', '.');
          await shared.ok({ type: 'put', put: putReq(b(n + suffix), 'noise') });
          continue;
        }
        const t = tenants[Math.floor(rand() * tenants.length)]!;
        const x = rand();
        const where = `seed ${seed} step ${step} tenant ${t.id}`;
        if (x < 0.35) {
          const req = putReq(b(rand() < 0.02 ? '' : randKey(rand)), randKey(rand, 0, 4), { prevKv: rand() < 0.5 });
          const want = await write(t.own, { type: 'put', put: req });
          const got = await write(shared, { type: 'put', put: putRequestToInternal(t.m, req) });
          const gotOut = got.ok ? { ok: true, response: putResponseToExternal(t.m, got.response as PutResponse) } : got;
          assert.deepEqual(norm(gotOut), norm(want), `${where}: put`);
        } else if (x < 0.5) {
          const key = rand() < 0.03 ? '' : randKey(rand);
          const req = delReq(b(key), b(randEnd(rand, key)), rand() < 0.6);
          const want = await write(t.own, { type: 'deleteRange', deleteRange: req });
          const got = await write(shared, { type: 'deleteRange', deleteRange: deleteRangeRequestToInternal(t.m, req) });
          const gotOut = got.ok ? { ok: true, response: deleteRangeResponseToExternal(t.m, got.response as DeleteRangeResponse) } : got;
          assert.deepEqual(norm(gotOut), norm(want), `${where}: delete`);
        } else if (x < 0.65) {
          const req = randTxn(rand);
          const want = await write(t.own, { type: 'txn', txn: req });
          const got = await write(shared, { type: 'txn', txn: txnRequestToInternal(t.m, req) });
          const gotOut = got.ok ? { ok: true, response: txnResponseToExternal(t.m, got.response as TxnResponse) } : got;
          assert.deepEqual(norm(gotOut), norm(want), `${where}: txn`);
        } else {
          const req = randRange(rand);
          let want: unknown;
          let got: unknown;
          try {
            want = t.own.store.range(req);
          } catch (e) {
            want = errCode(e);
          }
          try {
            got = rangeResponseToExternal(t.m, shared.store.range(rangeRequestToInternal(t.m, req)));
          } catch (e) {
            got = errCode(e);
          }
          if (typeof want === 'object' && (want as { kvs: unknown[] }).kvs.length > 0) rangesWithKeys++;
          assert.deepEqual(norm(got), norm(want), `${where}: range ${JSON.stringify([s(req.key), s(req.rangeEnd)])}`);
        }
        compared++;
      }
    }
    // Finally each tenant's whole keyspace, read both ways.
    for (const t of tenants) {
      const all = rangeReq(b('\0'), { end: b('\0') });
      assert.deepEqual(norm(rangeResponseToExternal(t.m, shared.store.range(rangeRequestToInternal(t.m, all)))), norm(t.own.store.range(all)));
      assert.ok(t.own.store.range(all).count > 0, `${t.id} holds keys`);
    }
    assert.ok(compared > 400);
    assert.ok(rangesWithKeys > 40, `only ${rangesWithKeys} ranges found keys: the workload is too thin to prove anything`);
  } finally {
    await shared.close();
    for (const t of tenants) await t.own.close();
  }
});
