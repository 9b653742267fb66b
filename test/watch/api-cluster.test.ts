import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from '../harness/cluster.js';
import { b64, eventsOf, PostWatch, rpc, type Json } from './api-client.js';

// Watches are served by every member of an in-process three-member cluster (real Raft, real
// HTTP): on a follower, across a leader change, across a restart of the watched member, and when
// a client switches members (GUARANTEES W4, W5).

let c: TestCluster;
const open: PostWatch[] = [];
const watchOn = (i: number): PostWatch => {
  const w = new PostWatch(c.member(i).url);
  open.push(w);
  return w;
};
const create = (key: string, end: string, o: Json = {}): Json => ({ create_request: { key: b64(key), range_end: b64(end), ...o } });

before(async () => {
  c = await TestCluster.start(3);
});
after(async () => {
  for (const w of open) w.close();
  await c.dispose();
});

type Ev = { key: string; value: string; mod: number };

/** A put through any running member, retried while the cluster has no leader. */
async function put(key: string, value: string, prefer?: number): Promise<Ev> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    const running = c.slots.map((s, i) => ({ s, i })).filter((x) => x.s.running !== null);
    const target = running.find((x) => x.i === prefer) ?? running[attempt % running.length]!;
    try {
      const r = await rpc(target.s.running!.url, '/v3/kv/put', { key: b64(key), value: b64(value) });
      return { key, value, mod: Number(r['header']['revision']) };
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Reads events from `w` until `n` arrived. */
async function collect(w: PostWatch, n: number, ms = 10_000): Promise<Ev[]> {
  const out: Ev[] = [];
  while (out.length < n) {
    const l = await w.next(ms);
    assert.equal(l.canceled, undefined, `unexpected cancel ${JSON.stringify(l)}`);
    out.push(...eventsOf(l).map(({ key, value, mod }) => ({ key, value, mod })));
  }
  return out;
}

test('a watch on a follower sees the same events, at the same revisions, as one on the leader', async () => {
  const leader = await c.leader();
  const follower = (leader + 1) % 3;
  const onLeader = watchOn(leader).send(create('f/', 'f0'));
  const onFollower = watchOn(follower).send(create('f/', 'f0', { prev_kv: true }));
  const created = await onFollower.next();
  assert.equal(created.header.member_id, c.slots[follower]!.id.toString(), 'the follower answers itself');
  await onLeader.next();
  const written: Ev[] = [];
  for (let i = 0; i < 10; i++) written.push(await put(`f/${i % 3}`, `v${i}`, leader));
  assert.deepEqual(await collect(onFollower, 10), written);
  assert.deepEqual(await collect(onLeader, 10), written);
});

test('W4 across a leader change: a watch on a follower continues without a gap or a repeat when the leader stops', async () => {
  const leader = await c.leader();
  const follower = (leader + 1) % 3;
  const w = watchOn(follower).send(create('lc/', 'lc0'));
  await w.next();
  const written: Ev[] = [];
  for (let i = 0; i < 5; i++) written.push(await put(`lc/${i}`, 'before', leader));
  await c.stop(leader);
  for (let i = 0; i < 5; i++) written.push(await put(`lc/${i}`, 'after', follower));
  assert.deepEqual(await collect(w, 10, 15_000), written);
  await c.open(leader);
  await c.member(leader).server.ready();
});

test('W5 across a restart: the watched member stops (its stream ends), and a watch from the last revision + 1 after its restart gets exactly what it missed', async () => {
  const leader = await c.leader();
  const watched = (leader + 2) % 3;
  const w = watchOn(watched).send(create('rs/', 'rs0'));
  await w.next();
  const written: Ev[] = [];
  for (let i = 0; i < 4; i++) written.push(await put(`rs/${i}`, 'a', leader));
  const seen = await collect(w, 4);
  assert.deepEqual(seen, written);
  await c.stop(watched);
  await assert.rejects(w.lines.next(3000, 'the end'), /ended/, 'the stream of a stopped member ends');
  for (let i = 0; i < 4; i++) written.push(await put(`rs/${i}`, 'b'));
  await c.open(watched);
  await c.member(watched).server.ready();
  const again = watchOn(watched).send(create('rs/', 'rs0', { start_revision: seen[seen.length - 1]!.mod + 1 }));
  assert.equal((await again.next()).created, true);
  written.push(await put('rs/x', 'c', watched));
  assert.deepEqual([...seen, ...(await collect(again, 5))], written);
});

test('W5 switching members: a client whose member stops resumes on another from the last revision + 1', async () => {
  const leader = await c.leader();
  const first = (leader + 1) % 3;
  const other = (leader + 2) % 3;
  const w = watchOn(first).send(create('sw/', 'sw0'));
  await w.next();
  const written: Ev[] = [];
  for (let i = 0; i < 3; i++) written.push(await put(`sw/${i}`, 'a', leader));
  const seen = await collect(w, 3);
  await c.stop(first);
  for (let i = 0; i < 3; i++) written.push(await put(`sw/${i}`, 'b', leader));
  const resumed = watchOn(other).send(create('sw/', 'sw0', { start_revision: seen[seen.length - 1]!.mod + 1 }));
  await resumed.next();
  assert.deepEqual([...seen, ...(await collect(resumed, 3))], written);
  await c.open(first);
  await c.member(first).server.ready();
});

test('W5 after a partition healed by a snapshot: the isolated follower\'s watch catches up from the restored history, gap-free', { timeout: 120_000 }, async () => {
  const sc = await TestCluster.start(3, { snapshotCount: 20, snapshotCatchUpEntries: 5 });
  try {
    const leader = await sc.leader();
    const follower = (leader + 1) % 3;
    const w = new PostWatch(sc.member(follower).url);
    open.push(w);
    w.send(create('snap/', 'snap0'));
    await w.next();
    const written: Ev[] = [];
    const putOn = async (i: number, key: string, value: string): Promise<void> => {
      const r = await rpc(sc.member(i).url, '/v3/kv/put', { key: b64(key), value: b64(value) });
      written.push({ key, value, mod: Number(r['header']['revision']) });
    };
    await putOn(leader, 'snap/0', 'before');
    sc.isolate(follower);
    // Far more entries than the leader keeps behind its snapshot: the follower needs the snapshot.
    for (let i = 0; i < 60; i++) await putOn(leader, `snap/${i % 4}`, `v${i}`);
    const appliedBefore = sc.member(follower).server.appliedIndex;
    sc.heal();
    const got = await collect(w, written.length, 30_000);
    assert.deepEqual(got, written);
    assert.ok(sc.member(follower).server.appliedIndex > appliedBefore);
  } finally {
    await sc.dispose();
  }
});
