import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, call, get, put } from '../harness/cluster.js';

// Three in-process members on loopback (real LMDB, transport and HTTP), named after the GUARANTEES
// cases they protect.

test('3 members: a write on any member, leader or follower, is visible on every member to a linearizable read', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    const lead = await c.leader();
    for (let i = 0; i < 3; i++) {
      const res = await put(c.member(i).url, `k${i}`, `from-${i}${i === lead ? '-leader' : ''}`);
      assert.ok(Number(res['header']['revision']) > 1);
      for (let j = 0; j < 3; j++) {
        const got = await get(c.member(j).url, `k${i}`);
        assert.equal(got.value, `from-${i}${i === lead ? '-leader' : ''}`, `member ${j} sees the write made on member ${i}`);
      }
    }
    // Revisions are one sequence across members (L3): three writes, three consecutive revisions.
    const revs = await Promise.all([0, 1, 2].map(async (i) => Number((await put(c.member(i).url, 'seq', `${i}`))['header']['revision'])));
    assert.deepEqual([...revs].sort((a, b) => a - b), [revs.sort((a, b) => a - b)[0]!, revs[0]! + 1, revs[0]! + 2]);
    const status = await call(c.member(0).url, '/v3/maintenance/status', {});
    assert.equal(status.status, 200);
    assert.equal(BigInt(status.json['leader']), c.slots[lead]!.id);
    assert.ok(Number(status.json['raftIndex']) >= Number(status.json['raftAppliedIndex']) - 0);
    const health = await fetch(c.member(1).url + '/health');
    assert.equal(health.status, 200);
  } finally {
    await c.dispose();
  }
});

test('L6 a linearizable read on an isolated old leader fails or blocks, never returns stale data; serializable reads say what they are', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3, { requestTimeoutMs: 2000 });
  try {
    const old = await c.leader();
    await put(c.member(old).url, 'x', 'v1');
    c.isolate(old);
    const others = [0, 1, 2].filter((i) => i !== old);
    // The majority elects a new leader and accepts a newer value.
    const deadline = Date.now() + 10_000;
    let wrote = false;
    while (!wrote && Date.now() < deadline) {
      try {
        await put(c.member(others[0]!).url, 'x', 'v2');
        wrote = true;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(wrote, 'the majority side accepts writes');
    const r = await call(c.member(old).url, '/v3/kv/range', { key: Buffer.from('x').toString('base64') });
    if (r.status === 200) {
      assert.equal(Buffer.from(r.json['kvs'][0]['value'], 'base64').toString(), 'v2', 'a linearizable read never returns the stale v1');
    } else {
      assert.equal(r.status, 503);
      assert.equal(r.json['error'], 'etcdserver: request timed out');
    }
    // The new leader served its linearizable read only after committing in its term: it sees v2.
    assert.equal((await get(c.member(others[1]!).url, 'x')).value, 'v2');
    c.heal();
    // After healing, the old leader catches up and its linearizable reads are current.
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await get(c.member(old).url, 'x')).value === 'v2') break;
      } catch {
        // still rejoining
      }
      assert.ok(Date.now() < until, 'the old leader catches up after healing');
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    await c.dispose();
  }
});

test('L10 a member that was down while the log was compacted catches up by snapshot, and its restart replays nothing twice', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3, { snapshotCount: 50, snapshotCatchUpEntries: 10 });
  try {
    const lead = await c.leader();
    const down = lead === 2 ? 1 : 2;
    await c.stop(down);
    const writer = c.member(lead).url;
    for (let n = 0; n < 200; n++) await put(writer, `s/${n % 40}`, `v${n}`);
    const leadServer = c.member(lead).server;
    const before = await call(writer, '/v3/kv/range', { key: Buffer.from('s/').toString('base64'), range_end: Buffer.from('s0').toString('base64') });
    await c.open(down);
    const back = c.member(down);
    const deadline = Date.now() + 15_000;
    while (back.server.appliedIndex < leadServer.appliedIndex) {
      assert.ok(Date.now() < deadline, 'the restarted member catches up');
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = await call(back.url, '/v3/kv/range', { key: Buffer.from('s/').toString('base64'), range_end: Buffer.from('s0').toString('base64'), serializable: true });
    assert.deepEqual(after.json['kvs'], before.json['kvs']);
    assert.equal(after.json['header']['revision'], before.json['header']['revision']);
    // It keeps following: a new write reaches it.
    await put(writer, 'after', 'snap');
    assert.equal((await get(back.url, 'after')).value, 'snap');
  } finally {
    await c.dispose();
  }
});

test('L9 member add (learner) → promote → remove under traffic; the cluster keeps a leader and loses no acknowledged write', { timeout: 90_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    let stop = false;
    const acked: string[] = [];
    const traffic = (async () => {
      for (let n = 0; !stop; n++) {
        const target = c.slots.filter((s) => s.running !== null)[n % 3]!.running!.url;
        try {
          await put(target, `t/${n}`, `${n}`);
          acked.push(`t/${n}`);
        } catch {
          // a write during a membership change may time out; only acknowledged ones are checked
        }
      }
    })();
    const url = c.member(0).url;
    const slot = await c.addSlot('m3', 'existing');
    const added = await call(url, '/v3/cluster/member/add', { peerURLs: [slot.peerUrl], isLearner: true });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.equal(BigInt(added.json['member']['ID']), slot.id);
    assert.equal(added.json['member']['isLearner'], true);
    await c.open(3);
    await c.member(3).server.ready();
    // Promote once the learner has caught up (the leader refuses while it lags).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await call(url, '/v3/cluster/member/promote', { ID: slot.id.toString() });
      if (r.status === 200) break;
      assert.equal(r.json['error'], 'etcdserver: can only promote a learner member which is in sync with leader', JSON.stringify(r.json));
      assert.ok(Date.now() < deadline, 'the learner gets in sync');
      await new Promise((res) => setTimeout(res, 100));
    }
    const list = await call(url, '/v3/cluster/member/list', {});
    assert.equal(list.json['members'].length, 4);
    assert.ok(list.json['members'].every((m: { isLearner?: boolean }) => m.isLearner !== true));
    const m3 = list.json['members'].find((m: { ID: string }) => BigInt(m.ID) === slot.id);
    assert.equal(m3.name, 'm3', 'the new member published its name');
    // Remove one of the founders (possibly the leader).
    const lead = await c.leader();
    const removed = await call(c.member(3).url, '/v3/cluster/member/remove', { ID: c.slots[lead]!.id.toString() });
    assert.equal(removed.status, 200, JSON.stringify(removed.json));
    assert.equal(removed.json['members'].length, 3);
    await c.stop(lead);
    const newLead = await c.leader();
    assert.notEqual(newLead, lead);
    // Traffic keeps flowing through the new configuration.
    const flowing = acked.length;
    const until = Date.now() + 15_000;
    while (acked.length < flowing + 20) {
      assert.ok(Date.now() < until, `writes continue after the changes (${acked.length} acknowledged)`);
      await new Promise((res) => setTimeout(res, 20));
    }
    stop = true;
    await traffic;
    const reader = c.member(newLead).url;
    for (const k of acked) assert.notEqual((await get(reader, k)).value, undefined, `acknowledged ${k} is present`);
  } finally {
    await c.dispose();
  }
});

test('member API errors: not found 404/5, peer URL exists 412/9, invalid URLs 400/3, learner not in sync 412/9, bad leader transferee 412/9', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    const url = c.member(0).url;
    const expect = async (path: string, body: unknown, status: number, code: number, error: string): Promise<void> => {
      const r = await call(url, path, body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(r.json)}`);
      assert.equal(r.json['code'], code);
      assert.equal(r.json['error'], error);
    };
    await expect('/v3/cluster/member/remove', { ID: '12345' }, 404, 5, 'etcdserver: member not found');
    await expect('/v3/cluster/member/update', { ID: '12345', peerURLs: ['http://127.0.0.1:1'] }, 404, 5, 'etcdserver: member not found');
    await expect('/v3/cluster/member/promote', { ID: '12345' }, 404, 5, 'etcdserver: member not found');
    await expect('/v3/cluster/member/add', { peerURLs: [c.slots[1]!.peerUrl] }, 412, 9, 'etcdserver: Peer URLs already exists');
    await expect('/v3/cluster/member/add', { peerURLs: ['not a url'] }, 400, 3, 'etcdserver: given member URLs are invalid');
    await expect('/v3/maintenance/transfer-leadership', { targetID: '12345' }, 412, 9, 'etcdserver: bad leader transferee');
    // A learner that never started is not in sync (asked on the leader, which tracks progress).
    const lead = await c.leader();
    const added = await call(c.member(lead).url, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:9'], isLearner: true });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    const r = await call(c.member(lead).url, '/v3/cluster/member/promote', { ID: added.json['member']['ID'] });
    assert.equal(r.status, 412);
    assert.equal(r.json['error'], 'etcdserver: can only promote a learner member which is in sync with leader');
    // Leader transfer to a voter works, through both spellings.
    const target = (lead + 1) % 3;
    const moved = await call(c.member(lead).url, '/v3/maintenance/transferleadership', { targetID: c.slots[target]!.id.toString() });
    assert.equal(moved.status, 200, JSON.stringify(moved.json));
    assert.equal(await c.leader(), target);
  } finally {
    await c.dispose();
  }
});

test('L9 a leader that shuts down hands leadership over first: the others have a leader well within one election timeout (etcd Stop)', { timeout: 60_000 }, async () => {
  // A long election timeout: without the handoff the two left would need at least 4 s to elect.
  const c = await TestCluster.start(3, { electionMs: 4000, heartbeatMs: 100 });
  try {
    const old = await c.leader(20_000);
    await put(c.member(old).url, 'before', 'v1');
    const t0 = Date.now();
    await c.stop(old);
    const next = await c.leader(20_000);
    const took = Date.now() - t0;
    assert.notEqual(next, old);
    assert.ok(took < 2000, `a new leader after ${took} ms (an election timeout is 4000 ms)`);
    // The new leader serves: the write made before is there, and a new one is accepted.
    assert.equal((await get(c.member(next).url, 'before')).value, 'v1');
    await put(c.member(next).url, 'after', 'v2');
  } finally {
    await c.dispose();
  }
});

/** Index of the member that every member in `among` agrees leads, itself one of them; waits up to `ms`. */
async function leaderAmong(c: TestCluster, among: readonly number[], ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const leads = new Set(among.map((i) => c.member(i).server.leaderId));
    const i = c.slots.findIndex((s) => leads.size === 1 && s.id === [...leads][0]);
    if (among.includes(i)) return i;
    if (Date.now() > deadline) throw new Error(`no agreed leader among ${among.join(',')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('L9 removing the leader hands leadership over first: the others lead well within one election timeout, asked through a follower or the leader itself', { timeout: 90_000 }, async () => {
  // A long election timeout: a removed leader that still led would leave the others waiting at
  // least 4 s (or, while it keeps heartbeating, indefinitely).
  const c = await TestCluster.start(4, { electionMs: 4000, heartbeatMs: 100, requestTimeoutMs: 15_000 });
  try {
    let live = [0, 1, 2, 3];
    for (const via of ['follower', 'leader'] as const) {
      const old = await c.leader(20_000);
      await put(c.member(old).url, `before-${via}`, via);
      const asker = via === 'leader' ? old : live.find((i) => i !== old)!;
      const t0 = Date.now();
      const removed = await call(c.member(asker).url, '/v3/cluster/member/remove', { ID: c.slots[old]!.id.toString() });
      assert.equal(removed.status, 200, `${via}: ${JSON.stringify(removed.json)} after ${Date.now() - t0} ms`);
      live = live.filter((i) => i !== old);
      assert.equal(removed.json['members'].length, live.length);
      const next = await leaderAmong(c, live, 20_000);
      const took = Date.now() - t0;
      assert.ok(took < 2000, `asked through the ${via}: the others agree on a new leader after ${took} ms (an election timeout is 4000 ms)`);
      await c.stop(old);
      // The new leader serves: earlier writes are there, and a new one is accepted.
      assert.equal((await get(c.member(next).url, `before-${via}`)).value, via);
      await put(c.member(next).url, `after-${via}`, via);
    }
    // A follower that removes itself is answered too (it may learn of its removal only from the
    // leader refusing it, never applying the entry), and the leader goes on alone.
    const lead = await leaderAmong(c, live, 20_000);
    const follower = live.find((i) => i !== lead)!;
    const left = await call(c.member(follower).url, '/v3/cluster/member/remove', { ID: c.slots[follower]!.id.toString() });
    assert.equal(left.status, 200, JSON.stringify(left.json));
    assert.deepEqual(left.json['members'].map((m: { ID: string }) => BigInt(m.ID)), [c.slots[lead]!.id]);
    await put(c.member(lead).url, 'alone', 'yes');
  } finally {
    await c.dispose();
  }
});
