import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor, TimeQueue, minLeaseTtl } from '../../src/lease/index.js';

// The lessor's pure logic with a fake clock (no timers, no storage): etcd's lessor rules, named
// after GUARANTEES L13 where they protect one.

function clock(): { now: number; fn: () => number } {
  const c = { now: 0, fn: () => c.now };
  return c;
}

test('D8 minimum TTL is ceil(1.5 election timeouts) counted in whole ticks, as etcd computes it', () => {
  assert.equal(minLeaseTtl(1000, 100), 2); // etcd default: 15 ticks * 100 ms = 1.5 s -> 2
  assert.equal(minLeaseTtl(500, 50), 1); // 15 * 50 ms = 0.75 s -> 1
  assert.equal(minLeaseTtl(5000, 1000), 7); // 7 ticks (integer division of 15/2) * 1 s
  assert.equal(minLeaseTtl(3000, 100), 5); // 45 ticks * 100 ms = 4.5 s -> 5
});

test('a follower lessor never expires anything and refuses renewals (not primary)', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 0 });
  l.granted({ id: 1n, ttl: 2, remainingTtl: 0 });
  c.now = 1e9;
  assert.deepEqual(l.expired(100), []);
  assert.deepEqual(l.renew(1n), { kind: 'not-primary' });
  assert.equal(l.lookup(1n)!.remainingMs, Infinity);
  assert.deepEqual(l.dueCheckpoints(100), []);
});

test('L13 promotion extends every lease by the election timeout beyond its remaining TTL: no early expiry after a leader change', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 0 });
  l.granted({ id: 1n, ttl: 10, remainingTtl: 0 });
  l.granted({ id: 2n, ttl: 10, remainingTtl: 4 }); // checkpointed earlier: 4 s were left
  c.now = 50_000; // long after the grants: a naive "granted at + ttl" would expire both at once
  l.promote(1000);
  assert.equal(l.lookup(1n)!.remainingMs, 11_000);
  assert.equal(l.lookup(2n)!.remainingMs, 5_000);
  c.now += 4_999;
  assert.deepEqual(l.expired(100), []);
  c.now += 1;
  assert.deepEqual(l.expired(100), [2n]);
  l.revoked(2n); // its revoke was applied
  c.now += 6_000;
  assert.deepEqual(l.expired(100), [1n]);
});

test('renew resets to the granted TTL and asks to clear a recorded checkpoint; unknown and expired leases are told apart', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 60_000 });
  l.granted({ id: 1n, ttl: 10, remainingTtl: 3 });
  l.promote(0);
  assert.equal(l.lookup(1n)!.remainingMs, 3000);
  c.now += 2000;
  assert.deepEqual(l.renew(1n), { kind: 'renewed', ttl: 10, clearCheckpoint: true });
  assert.equal(l.lookup(1n)!.remainingMs, 10_000, 'the full TTL, not the checkpointed 3 s');
  assert.deepEqual(l.renew(1n), { kind: 'renewed', ttl: 10, clearCheckpoint: false });
  assert.deepEqual(l.renew(9n), { kind: 'not-found' });
  c.now += 10_000;
  assert.deepEqual(l.renew(1n), { kind: 'expired' }, 'an expired lease cannot be renewed back');
  l.revoked(1n);
  assert.deepEqual(l.renew(1n), { kind: 'not-found' });
});

test('an expired lease is reported once, then again after the retry interval if its revoke was lost', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 0, expiredRetryMs: 3000 });
  l.promote(0);
  l.granted({ id: 5n, ttl: 2, remainingTtl: 0 });
  c.now = 2000;
  assert.deepEqual(l.expired(10), [5n]);
  assert.deepEqual(l.expired(10), [], 'not reported again while its revoke is in flight');
  c.now = 4999;
  assert.deepEqual(l.expired(10), []);
  c.now = 5000;
  assert.deepEqual(l.expired(10), [5n]);
  l.revoked(5n);
  c.now = 9000;
  assert.deepEqual(l.expired(10), []);
});

test('expired() honours its limit and returns the earliest expiries first', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 0 });
  l.promote(0);
  for (let i = 1; i <= 5; i++) l.granted({ id: BigInt(i), ttl: 10 - i, remainingTtl: 0 });
  c.now = 20_000;
  assert.deepEqual(l.expired(2), [5n, 4n]);
  assert.deepEqual(l.expired(10), [3n, 2n, 1n]);
});

test('demotion makes every lease immortal until the next promotion', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 0 });
  l.promote(0);
  l.granted({ id: 1n, ttl: 2, remainingTtl: 0 });
  l.demote();
  c.now = 100_000;
  assert.deepEqual(l.expired(10), []);
  assert.deepEqual(l.renew(1n), { kind: 'not-primary' });
  l.promote(500);
  assert.equal(l.lookup(1n)!.remainingMs, 2500);
});

test('checkpoints: due every interval for leases whose remaining time exceeds it, with remaining = ceil(seconds left)', () => {
  const c = clock();
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 1000 });
  l.promote(0);
  l.granted({ id: 1n, ttl: 8, remainingTtl: 0 });
  l.granted({ id: 2n, ttl: 1, remainingTtl: 0 }); // never longer than the interval: no checkpoint
  c.now = 999;
  assert.deepEqual(l.dueCheckpoints(10), []);
  c.now = 1000;
  assert.deepEqual(l.dueCheckpoints(10), [{ id: 1n, remainingTtl: 7 }]);
  assert.deepEqual(l.dueCheckpoints(10), [], 'the next one is scheduled when this one is applied');
  l.checkpointed(1n, 7);
  c.now = 2400;
  assert.deepEqual(l.dueCheckpoints(10), [{ id: 1n, remainingTtl: 6 }]);
  // After a restart (load + promotion) the checkpointed remainder counts, not the granted TTL.
  l.checkpointed(1n, 6);
  const l2 = new Lessor({ now: c.fn, checkpointIntervalMs: 1000 });
  l2.load([{ id: 1n, ttl: 8, remainingTtl: 6 }]);
  l2.promote(1000);
  assert.equal(l2.lookup(1n)!.remainingMs, 7000);
});

test('promotion spreads piled-up expiries to at most 3/4 of the revoke rate per second', () => {
  const c = clock();
  const rate = 100;
  const l = new Lessor({ now: c.fn, checkpointIntervalMs: 0, revokeRate: rate });
  for (let i = 0; i < 400; i++) l.granted({ id: BigInt(i + 1), ttl: 5, remainingTtl: 0 });
  l.promote(1000);
  const perSecond = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const at = Math.floor(l.lookup(BigInt(i + 1))!.remainingMs / 1000);
    perSecond.set(at, (perSecond.get(at) ?? 0) + 1);
    assert.ok(l.lookup(BigInt(i + 1))!.remainingMs >= 6000, 'never earlier than remaining TTL + extension');
  }
  for (const [, n] of perSecond) assert.ok(n <= (3 * rate) / 4 + 1, `at most 3/4 of the rate in one second, got ${n}`);
  // Every lease still expires, in order, within a bounded delay.
  c.now = 6000 + (400 / ((3 * rate) / 4)) * 1000 + 1000;
  assert.equal(l.expired(1000).length, 400);
});

test('TimeQueue keeps one entry per ID, moves it when set again and pops in time order', () => {
  const q = new TimeQueue();
  for (const [id, at] of [[1n, 50], [2n, 10], [3n, 30], [4n, 20]] as const) q.set(id, at);
  q.set(2n, 40); // moved later
  q.set(3n, 5); // moved earlier
  assert.equal(q.size, 4);
  const order: bigint[] = [];
  while (q.size > 0) {
    const top = q.peek()!;
    order.push(top.id);
    q.delete(top.id);
  }
  assert.deepEqual(order, [3n, 4n, 2n, 1n]);
});
