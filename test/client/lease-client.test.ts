import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeywardError, KvClient, LeaseClient, LeaseKeepAlive, type LeaseLoss } from '../../src/client/index.js';
import type { LeaseKeepAliveResponse } from '../../src/wire/index.js';
import { FakeTimers } from '../harness/fake-timers.js';
import { startWatchMember, type WatchMember } from '../watch/api-client.js';

// The TypeScript lease client against a real member (real HTTP, real LMDB), and its keep-alive
// loop with injected timers.

let m: WatchMember;
let leases: LeaseClient;
before(async () => {
  m = await startWatchMember();
  leases = new LeaseClient({ endpoints: [m.url], timeoutMs: 3000 });
});
after(async () => {
  await m.dispose();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function rejectsWith(p: Promise<unknown>, code: string, grpc: number, status: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeywardError, String(e));
    assert.deepEqual([e.code, e.grpcCode, e.httpStatus], [code, grpc, status]);
    return true;
  });
}

test('grant, timeToLive, leases, keepAliveOnce and revoke, with exact 64-bit IDs', async () => {
  const g = await leases.grant(60, 7587869402553040003n);
  assert.deepEqual([g.id, g.ttl], [7587869402553040003n, 60]);
  const kv = new KvClient({ endpoints: [m.url] });
  await kv.put({ key: enc('cl/a'), value: enc('1'), lease: g.id });
  const t = await leases.timeToLive(g.id, { keys: true });
  assert.equal(t.grantedTtl, 60);
  assert.ok(t.ttl > 55 && t.ttl <= 60);
  assert.deepEqual(t.keys, [enc('cl/a')]);
  assert.ok((await leases.leases()).leases.some((l) => l.id === g.id));
  assert.equal((await leases.keepAliveOnce(g.id)).ttl, 60);
  const picked = await leases.grant(5);
  assert.ok(picked.id > 0n);
  await leases.revoke(g.id);
  assert.equal((await kv.range({ key: enc('cl/a') })).kvs.length, 0);
  assert.equal((await leases.timeToLive(g.id)).ttl, -1);
});

test('errors are typed by etcd name, gRPC code and HTTP status', async () => {
  await leases.grant(60, 42n);
  await rejectsWith(leases.grant(60, 42n), 'LEASE_EXISTS', 9, 412);
  await rejectsWith(leases.grant(9_000_000_001n), 'LEASE_TTL_TOO_LARGE', 11, 400);
  await rejectsWith(leases.revoke(4242n), 'LEASE_NOT_FOUND', 5, 404);
  await rejectsWith(leases.keepAliveOnce(4242n), 'LEASE_NOT_FOUND', 5, 200);
  await rejectsWith(new KvClient({ endpoints: [m.url] }).put({ key: enc('x'), lease: 4242n }), 'LEASE_NOT_FOUND', 5, 404);
  assert.throws(() => leases.keepAlive(2n ** 63n), TypeError);
});

test('keepAlive renews at a third of the TTL and holds the lease until stopped; then it expires', { timeout: 20_000 }, async () => {
  const g = await leases.grant(2, 900n);
  const renewed: number[] = [];
  const ka = leases.keepAlive(g.id, { onRenew: (r) => renewed.push(r.ttl) });
  await new Promise((r) => setTimeout(r, 3500));
  assert.ok(renewed.length >= 5 && renewed.length <= 7, `about one renewal per 667 ms: ${renewed.length}`);
  assert.ok(renewed.every((t) => t === 2));
  assert.equal((await leases.timeToLive(900n)).grantedTtl, 2, 'alive well past its TTL');
  ka.stop();
  assert.deepEqual(await ka.done, { reason: 'stopped' });
  const stoppedAt = renewed.length;
  const deadline = Date.now() + 8000;
  while ((await leases.timeToLive(900n)).ttl !== -1) {
    assert.ok(Date.now() < deadline, 'expires once no longer renewed');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(renewed.length, stoppedAt, 'no renewal after stop');
});

test('keepAlive reports loss when the lease is revoked under it', { timeout: 20_000 }, async () => {
  const g = await leases.grant(3, 901n);
  const losses: LeaseLoss[] = [];
  const ka = leases.keepAlive(g.id, { onLoss: (l) => losses.push(l) });
  await new Promise((r) => setTimeout(r, 300));
  await leases.revoke(901n);
  assert.deepEqual(await ka.done, { reason: 'expired' });
  assert.deepEqual(losses, [{ reason: 'expired' }]);
});

test('keepAlive with fake timers: TTL/3 schedule, retries every 500 ms on failure, unreachable once a whole TTL passed without success', async () => {
  const timers = new FakeTimers();
  const calls: number[] = [];
  let fail = false;
  const renew = async (): Promise<LeaseKeepAliveResponse> => {
    calls.push(timers.now);
    if (fail) throw new Error('connection refused');
    return { header: { clusterId: 0n, memberId: 0n, revision: 1, raftTerm: 1 }, id: 1n, ttl: 6 };
  };
  const losses: LeaseLoss[] = [];
  const ka = new LeaseKeepAlive(renew, 5000, { timers: { now: () => timers.now, after: (ms, fn) => timers.after(ms, fn) }, onLoss: (l) => losses.push(l) });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  await settle();
  assert.deepEqual(calls, [0]);
  timers.advance(2000);
  await settle();
  assert.deepEqual(calls, [0, 2000], 'next renewal at TTL/3');
  fail = true;
  for (let t = 0; t < 14; t++) {
    timers.advance(500);
    await settle();
  }
  // Last success at 2000 ms, TTL 6 s: attempts at 4000, 4500, ... until 8000, then the loss.
  assert.equal(calls[2], 4000);
  assert.ok(calls.every((t, i) => i < 3 || t - calls[i - 1]! === 500));
  assert.equal(losses.length, 1);
  assert.equal(losses[0]!.reason, 'unreachable');
  assert.ok(calls.at(-1)! >= 8000 && calls.at(-1)! <= 8500, `gave up a TTL after the last success: ${calls.at(-1)}`);
  assert.deepEqual(await ka.done, losses[0]);
  const n = calls.length;
  timers.advance(10_000);
  await settle();
  assert.equal(calls.length, n, 'nothing after the loss');
});
