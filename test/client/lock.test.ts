import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KvClient, LeaseClient, LockClient, LockError, putRequest, type Lock } from '../../src/client/index.js';
import { TestCluster } from '../harness/cluster.js';

// GUARANTEES L14, locks, against a real three-member cluster (the client's lock recipe: etcd's
// concurrency Mutex protocol). Leases here are short: the members' minimum TTL follows their
// election timeout (500 ms), so a 2 s lease is accepted.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => (b === undefined ? '' : new TextDecoder().decode(b));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let cluster: TestCluster;
let endpoints: string[];
let kv: KvClient;
let leases: LeaseClient;
const lockers: LockClient[] = [];

/** A locker per simulated process, each talking to a different member first. */
function locker(i: number): LockClient {
  const l = new LockClient({ endpoints: [endpoints[i % 3]!, ...endpoints.filter((_, j) => j !== i % 3)] });
  lockers.push(l);
  return l;
}

/** A put fenced by `lock`: applies only while the lock is held. Whether it applied. */
async function fencedPut(lock: Lock, key: string, value: string): Promise<boolean> {
  const r = await kv.txn({ compare: [lock.guard()], success: [{ type: 'put', put: putRequest({ key: enc(key), value: enc(value) }) }], failure: [] });
  return r.succeeded;
}

/** Settles within `ms`: 'pending' if not. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, sleep(ms).then(() => 'pending' as const)]);
}

before(async () => {
  cluster = await TestCluster.start(3);
  endpoints = cluster.slots.map((s) => s.running!.url);
  kv = new KvClient({ endpoints });
  leases = new LeaseClient({ endpoints });
});
after(async () => {
  for (const l of lockers) await l.close();
  await kv.close();
  await cluster.dispose();
});

test('L14 mutual exclusion, first come first served: waiters get the lock in order, each with a larger fencing revision; the key is etcd\'s <name>/<lease hex>', async () => {
  await assert.rejects(locker(0).lock(''), /the name must not be empty/);
  const a = await locker(0).lock('mx');
  assert.equal(dec(a.key), `mx/${a.lease.toString(16)}`);
  const b = locker(1).lock('mx');
  await sleep(50); // b queues before c
  const c = locker(2).lock('mx');
  assert.equal(await within(b, 300), 'pending', 'b waits while a holds');
  await a.unlock();
  const bl = await b;
  assert.ok(bl.revision > a.revision);
  assert.equal(await within(c, 300), 'pending', 'c waits while b holds');
  await bl.unlock();
  const cl = await c;
  assert.ok(cl.revision > bl.revision);
  await cl.unlock();
  assert.equal((await kv.range({ key: enc('mx/'), rangeEnd: enc('mx0') })).kvs.length, 0, 'every key is gone after unlock');
});

test('L14 fencing: a holder whose lease expired (a paused process) still believes it holds the lock, but its guarded writes fail while the new holder\'s apply; an unguarded write is not protected', async () => {
  // The "paused" holder: its lease is never renewed.
  const stale = (await leases.grant(2)).id;
  const a = await locker(0).lock('fence', { lease: stale });
  assert.ok(await fencedPut(a, 'fenced-data', 'a1'), 'the holder writes under its lock');
  const b = await locker(1).lock('fence'); // waits for a's lease to expire
  assert.ok(b.revision > a.revision);
  assert.equal(await fencedPut(a, 'fenced-data', 'a2'), false, 'the expired holder is fenced off');
  assert.ok(await fencedPut(b, 'fenced-data', 'b1'));
  assert.equal(dec((await kv.range({ key: enc('fenced-data') })).kvs[0]?.value), 'b1');
  // What the fence prevents: the same write without the guard lands over b's.
  await kv.put({ key: enc('fenced-data'), value: enc('a-unguarded') });
  assert.equal(dec((await kv.range({ key: enc('fenced-data') })).kvs[0]?.value), 'a-unguarded');
  await b.unlock();
});

test('L14 acquire returns only if the lease is still alive: a waiter whose lease expires in the queue gets SESSION_EXPIRED, not the lock', async () => {
  const a = await locker(0).lock('alive');
  const short = (await leases.grant(2)).id; // never renewed: expires while b waits
  const b = locker(1).lock('alive', { lease: short });
  await sleep(3500);
  await a.unlock();
  const err = await b.catch((e: unknown) => e);
  assert.ok(err instanceof LockError, String(err));
  assert.equal(err.code, 'SESSION_EXPIRED');
  // And nobody holds it: the next one gets it at once.
  const c = await within(locker(2).lock('alive'), 2000);
  assert.notEqual(c, 'pending');
  await (c as Lock).unlock();
});

test('L14 a waiter that gives up (AbortSignal) gets ABORTED and withdraws its key; the holder keeps the lock', async () => {
  const a = await locker(0).lock('abort');
  const ctl = new AbortController();
  const b = locker(1).lock('abort', { signal: ctl.signal });
  await sleep(200);
  ctl.abort();
  const err = await b.catch((e: unknown) => e);
  assert.ok(err instanceof LockError && err.code === 'ABORTED', String(err));
  const keys = (await kv.range({ key: enc('abort/'), rangeEnd: enc('abort0') })).kvs.map((k) => dec(k.key));
  assert.deepEqual(keys, [dec(a.key)], 'only the holder\'s key is left');
  await a.unlock();
});
