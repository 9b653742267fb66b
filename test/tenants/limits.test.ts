import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenantConcurrency, TenantRateLimiter } from '../../src/tenants/index.js';

// Edge limits (src/tenants/limits.ts) with an injected clock: the per-tenant token bucket of
// requests per second and the streams/watchers counters; refusals are TOO_MANY_REQUESTS (429).

function clock(): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

test('rate: a burst of one second\'s worth, then refused with TOO_MANY_REQUESTS naming maxRequestsPerSecond', () => {
  const c = clock();
  const r = new TenantRateLimiter({ now: c.now });
  for (let i = 0; i < 5; i++) assert.equal(r.take('acme', 5), undefined, `request ${i}`);
  const e = r.take('acme', 5);
  assert.deepEqual([e?.code, e?.limit, e?.limitValue], ['TOO_MANY_REQUESTS', 'maxRequestsPerSecond', 5]);
  assert.equal(e?.message, 'tenants: too many requests for this tenant, retry later: requests per second (limit 5)');
  c.advance(199);
  assert.equal(r.take('acme', 5)?.code, 'TOO_MANY_REQUESTS', '199 ms refill less than one token');
  c.advance(1);
  assert.equal(r.take('acme', 5), undefined, '200 ms refills one token at 5/s');
});

test('rate: a tenant sending exactly its rate is never refused; tenants do not share buckets', () => {
  const c = clock();
  const r = new TenantRateLimiter({ now: c.now });
  for (let i = 0; i < 100; i++) {
    assert.equal(r.take('acme', 10), undefined, `acme ${i}`);
    c.advance(100);
  }
  for (let i = 0; i < 2; i++) assert.equal(r.take('b', 2), undefined);
  assert.equal(r.take('b', 2)?.code, 'TOO_MANY_REQUESTS');
  assert.equal(r.take('acme', 10), undefined, 'acme unaffected by b');
});

test('rate: 0 is unlimited; a lowered limit applies at once; a clock going backwards refills nothing', () => {
  const c = clock();
  const r = new TenantRateLimiter({ now: c.now });
  for (let i = 0; i < 1000; i++) assert.equal(r.take('acme', 0), undefined);
  assert.equal(r.size, 0, 'no bucket kept for an unlimited tenant');
  for (let i = 0; i < 50; i++) r.take('acme', 100);
  // 50 tokens left at 100/s; the limit drops to 2: at most 2 more.
  assert.equal(r.take('acme', 2), undefined);
  assert.equal(r.take('acme', 2), undefined);
  assert.equal(r.take('acme', 2)?.code, 'TOO_MANY_REQUESTS');
  c.set(0);
  assert.equal(r.take('acme', 2)?.code, 'TOO_MANY_REQUESTS');
  r.forget('acme');
  assert.equal(r.take('acme', 2), undefined, 'forgotten: a fresh bucket');
  assert.throws(() => r.take('acme', -1), TypeError);
});

test('streams: count reaches the limit and no further; release frees one, twice frees one', () => {
  const k = new TenantConcurrency();
  const a = k.acquire('acme', 'streams', 2);
  const b = k.acquire('acme', 'streams', 2);
  assert.ok(a.ok && b.ok);
  const c = k.acquire('acme', 'streams', 2);
  assert.ok(!c.ok);
  assert.deepEqual([c.error.code, c.error.limit, c.error.limitValue], ['TOO_MANY_REQUESTS', 'maxStreams', 2]);
  assert.equal(k.count('acme', 'streams'), 2);
  a.release();
  a.release();
  assert.equal(k.count('acme', 'streams'), 1, 'a double release does not free a second slot');
  assert.ok(k.acquire('acme', 'streams', 2).ok);
  assert.ok(!k.acquire('acme', 'streams', 2).ok);
});

test('watchers counted apart from streams and per tenant; 0 is unlimited but counted (usage is visible)', () => {
  const k = new TenantConcurrency();
  assert.ok(k.acquire('acme', 'streams', 1).ok);
  const w = k.acquire('acme', 'watchers', 1);
  assert.ok(w.ok);
  const w2 = k.acquire('acme', 'watchers', 1);
  assert.ok(!w2.ok && w2.error.limit === 'maxWatchers');
  assert.ok(k.acquire('acme2', 'watchers', 1).ok);
  for (let i = 0; i < 10; i++) assert.ok(k.acquire('free', 'watchers', 0).ok);
  assert.equal(k.count('free', 'watchers'), 10);
  // A lowered limit: the holders stay, new ones wait until the count is below it.
  assert.ok(!k.acquire('free', 'watchers', 5).ok);
});

test('forget drops a tenant\'s counts; releases of earlier acquisitions do not eat into new ones', () => {
  const k = new TenantConcurrency();
  const old = k.acquire('acme', 'streams', 1);
  assert.ok(old.ok);
  k.forget('acme');
  assert.equal(k.count('acme', 'streams'), 0);
  const fresh = k.acquire('acme', 'streams', 1);
  assert.ok(fresh.ok);
  old.release();
  assert.equal(k.count('acme', 'streams'), 1, 'the stale release changed nothing');
  assert.ok(!k.acquire('acme', 'streams', 1).ok);
});
