import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Backoff,
  backoffCeiling,
  backoffDelay,
  KeywardError,
  KvClient,
  WatchClient,
  WatchError,
  type ReconnectInfo,
  type Watch,
  type WatchUpdate,
} from '../../src/client/index.js';
import { EventType, WatchFilterType } from '../../src/wire/index.js';
import { TestCluster } from '../harness/cluster.js';
import { ProcessCluster } from '../harness/fault-cluster.js';

// The client's watch against real Keyward members: resume after a member stops (in-process) and
// after kill -9 and SIGSTOP (processes), compaction surfaced with its revision, cancels, progress,
// backpressure, half duplex; backoff bounds with injected randomness.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => (b === undefined ? '' : new TextDecoder().decode(b));

/** The next `n` events of a watch, flattened, as "TYPE key=value@rev". */
async function take(w: Watch, n: number, progress: WatchUpdate[] = []): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const r = await w.next();
    if (r.done) throw new Error(`watch ended after ${out.length} of ${n} events`);
    if (r.value.kind === 'progress') {
      progress.push(r.value);
      continue;
    }
    for (const e of r.value.events) out.push(`${e.type === EventType.DELETE ? 'DELETE' : 'PUT'} ${dec(e.kv?.key)}=${dec(e.kv?.value)}@${e.kv?.modRevision}`);
  }
  return out;
}

test('backoff: full jitter within [0, min(max, base*2^n)), the ceiling doubles to the cap, reset starts over', () => {
  const opts = { baseMs: 100, maxMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 60, 2000].map((n) => backoffCeiling(n, opts)), [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  for (const r of [0, 0.25, 0.999999]) {
    for (let n = 0; n < 8; n++) {
      const d = backoffDelay(n, opts, () => r);
      assert.ok(d >= 0 && d < backoffCeiling(n, opts), `attempt ${n}, random ${r}: ${d}`);
      assert.equal(d, Math.floor(r * backoffCeiling(n, opts)));
    }
  }
  assert.throws(() => backoffDelay(0, opts, () => 1), TypeError);
  assert.throws(() => backoffDelay(0, opts, () => NaN), TypeError);
  assert.throws(() => backoffDelay(-1, opts), TypeError);
  const b = new Backoff(opts, () => 0.5);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500]);
  b.reset();
  assert.equal(b.next(), 50);
});

let cluster: TestCluster;
let urls: string[];
let kv: KvClient;

before(async () => {
  cluster = await TestCluster.start(3);
  await cluster.leader();
  urls = cluster.slots.map((_, i) => cluster.member(i).url);
  kv = new KvClient({ endpoints: urls });
});

after(async () => {
  await cluster.dispose();
});

/** The leader, a follower, and the remaining member. */
async function roles(): Promise<{ lead: number; follower: number; other: number }> {
  const lead = await cluster.leader();
  const follower = (lead + 1) % 3;
  return { lead, follower, other: (lead + 2) % 3 };
}

/** Brings a stopped member back and waits for an agreed leader. */
async function restore(i: number): Promise<void> {
  if (cluster.slots[i]!.running === null) await (await cluster.open(i)).server.ready();
  await cluster.leader();
}

test('W5 resume: a watch on a member that stops continues on the next endpoint from last revision + 1, nothing lost or repeated', { timeout: 30_000 }, async () => {
  // A follower is stopped (stopping the leader would also lose the puts it was forwarded, which
  // time out: not what this test is about); its watch must move to the next endpoint.
  const { lead, follower: f, other } = await roles();
  const writer = new KvClient({ endpoints: [urls[lead]!] });
  const reconnects: ReconnectInfo[] = [];
  const wc = new WatchClient({ endpoints: [urls[f]!, urls[other]!], timeoutMs: 1000, random: () => 0.5, backoff: { baseMs: 40, maxMs: 1000 }, onReconnect: (r) => reconnects.push(r) });
  const w = wc.watch('resume/', { prefix: true });
  try {
    const created = await w.ready;
    const revs: number[] = [];
    for (let i = 0; i < 3; i++) revs.push((await writer.put({ key: enc(`resume/${i}`), value: enc(`v${i}`) })).header.revision);
    assert.deepEqual(await take(w, 3), revs.map((r, i) => `PUT resume/${i}=v${i}@${r}`));
    assert.ok(revs[0]! > created);
    await cluster.stop(f);
    for (let i = 3; i < 6; i++) revs.push((await writer.put({ key: enc(`resume/${i}`), value: enc(`v${i}`) })).header.revision);
    assert.deepEqual(await take(w, 3), revs.slice(3).map((r, i) => `PUT resume/${i + 3}=v${i + 3}@${r}`));
    assert.equal(reconnects.length, 1);
    assert.equal(reconnects[0]!.fromRevision, revs[2]! + 1, 'resumes right after the last event seen');
    assert.equal(reconnects[0]!.endpoint, urls[other]);
    assert.equal(reconnects[0]!.delayMs, 20, 'attempt 0 with random 0.5 and base 40');
    assert.deepEqual(w.stats, { connects: 2, staleDropped: 0 });
    assert.equal(w.revision, revs[5]);
  } finally {
    await w.close();
    await restore(f);
  }
});

test('W7 compaction: a watch from a compacted revision throws WatchError COMPACTED with the compact revision', { timeout: 30_000 }, async () => {
  const r1 = (await kv.put({ key: enc('cmp/a'), value: enc('1') })).header.revision;
  const r2 = (await kv.put({ key: enc('cmp/a'), value: enc('2') })).header.revision;
  await kv.compact({ revision: r2 });
  const w = new WatchClient({ endpoints: urls }).watch('cmp/a', { startRevision: r1 });
  // etcd's order: `created`, then the cancel carrying the compact revision.
  assert.equal(typeof (await w.ready), 'number');
  await assert.rejects(w.next(), (e: unknown) => e instanceof WatchError && e.code === 'COMPACTED' && e.compactRevision === r2 && e.requiredRevision === r1);
  assert.deepEqual(await w.next(), { value: undefined, done: true }, 'the error is thrown once, then the watch is done');
  assert.equal(w.stats.connects, 1, 'a compaction is not retried');
  // Exactly at the compact revision is still watchable (W7) and delivers that revision.
  const at = new WatchClient({ endpoints: urls }).watch('cmp/a', { startRevision: r2 });
  assert.deepEqual(await take(at, 1), [`PUT cmp/a=2@${r2}`]);
  await at.close();
});

test('W7 compaction while disconnected: the resumed watch reports COMPACTED instead of skipping the lost events', { timeout: 30_000 }, async () => {
  const { lead, follower: f } = await roles();
  const writer = new KvClient({ endpoints: [urls[lead]!], timeoutMs: 5000 });
  const wc = new WatchClient({ endpoints: [urls[f]!, urls[lead]!], timeoutMs: 1000, backoff: { baseMs: 20, maxMs: 20 } });
  const w = wc.watch('gone/', { prefix: true });
  try {
    await w.ready;
    const r = (await writer.put({ key: enc('gone/a'), value: enc('1') })).header.revision;
    assert.deepEqual(await take(w, 1), [`PUT gone/a=1@${r}`]);
    // The watch's member (a follower) hears nothing while the others write and compact past its
    // position; then it stops, and the watch resumes on the leader, where that history is gone.
    cluster.isolate(f);
    await writer.put({ key: enc('gone/a'), value: enc('2') });
    const r3 = (await writer.put({ key: enc('gone/a'), value: enc('3') })).header.revision;
    await writer.compact({ revision: r3 });
    await cluster.stop(f);
    cluster.heal();
    await assert.rejects(w.next(), (e: unknown) => e instanceof WatchError && e.code === 'COMPACTED' && e.compactRevision === r3 && e.requiredRevision === r + 1);
    assert.equal(w.stats.connects, 2);
  } finally {
    cluster.heal();
    await w.close();
    await restore(f);
  }
});

test('a refused watch (empty range) throws WatchError CANCELED with etcd\'s reason, without retrying', { timeout: 30_000 }, async () => {
  const w = new WatchClient({ endpoints: urls }).watch('b', { rangeEnd: 'a' });
  await assert.rejects(w.next(), (e: unknown) => e instanceof WatchError && e.code === 'CANCELED' && e.message === 'mvcc: watcher range is empty');
  assert.equal(w.stats.connects, 1);
});

test('W6: a requested progress notification arrives at the current revision and no older event follows it', { timeout: 30_000 }, async () => {
  const w = new WatchClient({ endpoints: urls }).watch('prog/', { prefix: true });
  await w.ready;
  const rev = (await kv.put({ key: enc('prog/a'), value: enc('1') })).header.revision;
  assert.deepEqual(await take(w, 1), [`PUT prog/a=1@${rev}`]);
  w.requestProgress();
  const r = await w.next();
  assert.equal(r.done, false);
  assert.equal(r.value!.kind, 'progress');
  assert.ok(r.value!.revision >= rev);
  assert.equal(w.revision, r.value!.revision);
  await w.close();
});

test('filters, prev_kv and DELETE events come through; close ends iteration and is idempotent', { timeout: 30_000 }, async () => {
  const w = new WatchClient({ endpoints: urls }).watch('flt/a', { prevKv: true, filters: [WatchFilterType.NOPUT] });
  await w.ready;
  await kv.put({ key: enc('flt/a'), value: enc('1') });
  const d = (await kv.deleteRange({ key: enc('flt/a') })).header.revision;
  const r = await w.next();
  assert.ok(!r.done && r.value.kind === 'events');
  assert.equal(r.value.events.length, 1);
  assert.equal(r.value.events[0]!.type, EventType.DELETE);
  assert.equal(r.value.events[0]!.kv?.modRevision, d);
  assert.equal(dec(r.value.events[0]!.prevKv?.value), '1');
  const pending = w.next();
  await Promise.all([w.close(), w.close()]);
  assert.deepEqual(await pending, { value: undefined, done: true });
  const never = new WatchClient({ endpoints: ['http://127.0.0.1:9'] }).watch('x');
  await never.close();
  await assert.rejects(never.ready, (e: unknown) => e instanceof WatchError && e.code === 'CLOSED');
});

test('W4/W11 backpressure: a consumer slower than the writes, with a 2-response client buffer, still gets every event in order', { timeout: 30_000 }, async () => {
  const w = new WatchClient({ endpoints: urls, maxBufferedResponses: 2 }).watch('bp/', { prefix: true });
  await w.ready;
  const want: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = (await kv.put({ key: enc(`bp/${i % 3}`), value: enc(`v${i}`) })).header.revision;
    want.push(`PUT bp/${i % 3}=v${i}@${r}`);
  }
  const got: string[] = [];
  while (got.length < want.length) {
    got.push(...(await take(w, 1)));
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.deepEqual(got, want);
  await w.close();
});

test('half duplex (etcd 3.4 over HTTP/1.1): the body ends after the create and events still flow; progress requests are refused', { timeout: 30_000 }, async () => {
  const w = new WatchClient({ endpoints: urls, duplex: 'half' }).watch('hd');
  await w.ready;
  const r = (await kv.put({ key: enc('hd'), value: enc('x') })).header.revision;
  assert.deepEqual(await take(w, 1), [`PUT hd=x@${r}`]);
  assert.throws(() => w.requestProgress(), TypeError);
  await w.close();
});

test('a member that answers the stream with an HTTP error the client cannot fix is not retried', { timeout: 30_000 }, async () => {
  // A bad endpoint path: the member answers 404 for an unknown RPC.
  const w = new WatchClient({ endpoints: [urls[0]! + '/nope'] }).watch('x');
  await assert.rejects(w.next(), (e: unknown) => e instanceof KeywardError && e.httpStatus === 404);
  assert.equal(w.stats.connects, 1);
});

test('W5 across kill -9 and SIGSTOP of real member processes: the watch resumes on another member with no loss or repeat', { timeout: 90_000 }, async () => {
  const pc = await ProcessCluster.create(3);
  try {
    await pc.start();
    await pc.leader();
    const purls = pc.slots.map((s) => s.clientUrl);
    const reconnects: ReconnectInfo[] = [];
    // A watch pinned first to member 0, which is killed, then to member 1, which is paused.
    const wc = new WatchClient({ endpoints: purls, timeoutMs: 800, keepAliveMs: 300, backoff: { baseMs: 20, maxMs: 200 }, random: () => 0.5, onReconnect: (r) => reconnects.push(r) });
    const w = wc.watch('pk/', { prefix: true, prevKv: true });
    await w.ready;
    const writer = new KvClient({ endpoints: [purls[2]!], timeoutMs: 3000 });
    const want: string[] = [];
    const write = async (i: number): Promise<void> => {
      for (;;) {
        try {
          const r = (await writer.put({ key: enc(`pk/${i % 4}`), value: enc(`v${i}`) })).header.revision;
          want.push(`PUT pk/${i % 4}=v${i}@${r}`);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100)); // no leader for a moment; a refused put took no effect
        }
      }
    };
    for (let i = 0; i < 10; i++) await write(i);
    const got = await take(w, 10);
    await pc.kill(0);
    for (let i = 10; i < 20; i++) await write(i);
    got.push(...(await take(w, 10)));
    assert.equal(reconnects.length >= 1, true);
    assert.equal(reconnects[0]!.fromRevision, Number(/@(\d+)$/.exec(want[9]!)![1]) + 1);
    await pc.start([0]); // quorum for the writes while member 1 is paused
    // Now on member 1: pause it; the keep-alive probe notices and the watch moves to member 2.
    pc.signal(1, 'SIGSTOP');
    for (let i = 20; i < 30; i++) await write(i);
    got.push(...(await take(w, 10)));
    pc.signal(1, 'SIGCONT');
    assert.deepEqual(got, want);
    assert.ok(reconnects.some((r) => /did not answer a progress request|no watch response/.test(r.reason)), JSON.stringify(reconnects));
    assert.equal(w.stats.staleDropped, 0);
    await w.close();
  } finally {
    await pc.dispose();
  }
});
