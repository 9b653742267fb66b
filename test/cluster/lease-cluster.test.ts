import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, b64, call, get, put, type Json } from '../harness/cluster.js';

// Leases across three in-process members (real LMDB, transport and HTTP), named after GUARANTEES
// L13 / L10. Cluster timing: heartbeat 50 ms, election 500 ms, so the minimum TTL is 1 s and a new
// leader extends leases by 500 ms.

async function ok(url: string, path: string, body: unknown): Promise<Json> {
  const r = await call(url, path, body);
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} at ${url} -> ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

async function keepAlive(url: string, id: bigint | string | number): Promise<Json> {
  const res = await fetch(url + '/v3/lease/keepalive', { method: 'POST', body: JSON.stringify({ ID: String(id) }) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text.split('\n')[0]!) as Json)['result'] as Json;
}

async function until(what: string, ms: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const others = (lead: number): number[] => [0, 1, 2].filter((i) => i !== lead);

test('L13 keep-alive and time-to-live work through followers; a lease granted on one member is visible on every member', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    const lead = await c.leader();
    const [f1, f2] = others(lead).map((i) => c.member(i).url) as [string, string];
    const g = await ok(f1, '/v3/lease/grant', { TTL: 30, ID: 77 });
    assert.equal(g.header.member_id, c.member(others(lead)[0]!).server.memberId.toString());
    await ok(f2, '/v3/kv/put', { key: b64('fk'), value: b64('v'), lease: 77 });
    for (let i = 0; i < 3; i++) {
      const url = c.member(i).url;
      const t = await ok(url, '/v3/lease/timetolive', { ID: 77, keys: true });
      assert.equal(t.grantedTTL, '30', `member ${i}`);
      assert.ok(Number(t.TTL) > 25 && Number(t.TTL) <= 30, `member ${i}: ${t.TTL}`);
      assert.deepEqual(t.keys, [b64('fk')]);
      assert.equal(t.header.member_id, c.member(i).server.memberId.toString(), 'answered under the asked member\'s header');
      const l = await ok(url, '/v3/lease/leases', {});
      assert.deepEqual(l.leases, [{ ID: '77' }], `member ${i} lists the lease`);
    }
    // A keep-alive on a follower is renewed by the leader (the follower's lessor cannot).
    await new Promise((r) => setTimeout(r, 1100));
    const before = Number((await ok(c.member(lead).url, '/v3/lease/timetolive', { ID: 77 })).TTL);
    assert.ok(before <= 29, `time passed: ${before}`);
    const k = await keepAlive(f2, 77);
    assert.deepEqual([k.ID, k.TTL], ['77', '30']);
    assert.equal(k.header.member_id, c.member(others(lead)[1]!).server.memberId.toString());
    const after = Number((await ok(c.member(lead).url, '/v3/lease/timetolive', { ID: 77 })).TTL);
    assert.ok(after >= 29, `the leader's lessor was renewed: ${after}`);
    // Unknown leases through a follower: a result without TTL, and TTL -1.
    assert.equal((await keepAlive(f1, 4242)).TTL, undefined);
    assert.equal((await ok(f1, '/v3/lease/timetolive', { ID: 4242 })).TTL, '-1');
    // A revoke through a follower deletes the key everywhere at one revision.
    const rev = Number((await ok(f1, '/v3/lease/revoke', { ID: 77 })).header.revision);
    for (let i = 0; i < 3; i++) {
      const got = await get(c.member(i).url, 'fk');
      assert.equal(got.value, undefined);
      assert.equal(got.revision, rev);
    }
  } finally {
    await c.dispose();
  }
});

test('L13 a lease does not expire early after a leader change (remaining TTL refreshed on election), and still expires after it', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    const lead = await c.leader();
    const url = c.member(lead).url;
    await ok(url, '/v3/lease/grant', { TTL: 3, ID: 5 });
    const granted = Date.now();
    await ok(url, '/v3/kv/put', { key: b64('lk'), value: b64('v'), lease: 5 });
    const rev = Number((await ok(url, '/v3/kv/range', { key: b64('lk') })).header.revision);
    await new Promise((r) => setTimeout(r, 1500));
    await c.stop(lead);
    const survivor = c.member(others(lead)[0]!).url;
    await c.leader();
    // Past the original expiry (3 s after the grant): the new leader counts 3 s + 500 ms from its election.
    const wait = granted + 3600 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    assert.equal((await get(survivor, 'lk')).value, 'v', 'the key outlives its original expiry after a leader change');
    const t = await ok(survivor, '/v3/lease/timetolive', { ID: 5 });
    assert.ok(Number(t.TTL) >= 0 && Number(t.TTL) <= 3, `the new leader counts the lease down: ${t.TTL}`);
    // Nobody renews it: the new leader expires it, deleting the key at one new revision.
    await until('expiry under the new leader', 15_000, async () => (await get(survivor, 'lk')).value === undefined);
    const gone = await get(survivor, 'lk');
    assert.equal(gone.revision, rev + 1);
    assert.equal((await ok(survivor, '/v3/lease/timetolive', { ID: 5 })).TTL, '-1');
  } finally {
    await c.dispose();
  }
});

test('L13 keep-alives through a follower hold a lease across a leader change', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    const lead = await c.leader();
    const follower = others(lead)[0]!;
    const url = c.member(follower).url;
    await ok(url, '/v3/lease/grant', { TTL: 2, ID: 6 });
    await ok(url, '/v3/kv/put', { key: b64('held'), value: b64('v'), lease: 6 });
    let stop = false;
    const renewals: Array<string | undefined> = [];
    const renewer = (async () => {
      while (!stop) {
        try {
          renewals.push((await keepAlive(url, 6)).TTL as string | undefined);
        } catch {
          renewals.push('error');
        }
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    await c.stop(lead);
    await c.leader();
    await new Promise((r) => setTimeout(r, 4000)); // twice the TTL under the new leader
    stop = true;
    await renewer;
    assert.equal((await get(url, 'held')).value, 'v', 'renewed through the follower, the lease never expired');
    assert.ok(!renewals.includes(undefined), `no renewal found the lease gone: ${renewals.join(',')}`);
    assert.ok(renewals.filter((r) => r === '2').length >= 8, `renewals went on: ${renewals.join(',')}`);
  } finally {
    await c.dispose();
  }
});

test('L13 after every member restarts a lease expires from its checkpointed remaining TTL, not from a full TTL', { timeout: 90_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    // Reopen every member with a 1 s checkpoint interval (etcd's default is 5 minutes).
    for (let i = 0; i < 3; i++) await c.stop(i);
    await Promise.all([0, 1, 2].map((i) => c.open(i, { leaseCheckpointIntervalMs: 1000 })));
    await Promise.all([0, 1, 2].map((i) => c.member(i).server.ready()));
    const url = c.member(await c.leader()).url;
    await ok(url, '/v3/lease/grant', { TTL: 10, ID: 9 });
    await ok(url, '/v3/kv/put', { key: b64('ck'), value: b64('v'), lease: 9 });
    await new Promise((r) => setTimeout(r, 5500));
    for (let i = 0; i < 3; i++) await c.stop(i);
    await Promise.all([0, 1, 2].map((i) => c.open(i, { leaseCheckpointIntervalMs: 1000 })));
    const restarted = Date.now();
    const lead = await c.leader();
    let ttl = Infinity;
    await until('the new leader to answer time-to-live', 10_000, async () => {
      const r = await call(c.member(lead).url, '/v3/lease/timetolive', { ID: 9 });
      if (r.status !== 200) return false;
      ttl = Number(r.json['TTL']);
      return true;
    });
    assert.ok(ttl <= 7, `the restarted leader counts from the checkpoint (~5 s left), not the full 10 s: ${ttl}`);
    assert.ok(ttl >= 3, `and not from nothing: ${ttl}`);
    await until('expiry after the restart', 20_000, async () => (await get(c.member(lead).url, 'ck')).value === undefined);
    assert.ok(Date.now() - restarted < 9500, `expired sooner than a full TTL after the restart: ${Date.now() - restarted} ms`);
  } finally {
    await c.dispose();
  }
});

test('L10 a member restored from a snapshot has the same leases and key attachments', { timeout: 90_000 }, async () => {
  const c = await TestCluster.start(3, { snapshotCount: 50, snapshotCatchUpEntries: 10 });
  try {
    const lead = await c.leader();
    const down = others(lead)[0]!;
    await c.stop(down);
    const url = c.member(lead).url;
    await ok(url, '/v3/lease/grant', { TTL: 600, ID: 31 });
    await ok(url, '/v3/lease/grant', { TTL: 600, ID: 32 });
    await ok(url, '/v3/kv/put', { key: b64('sa'), value: b64('1'), lease: 31 });
    await ok(url, '/v3/kv/put', { key: b64('sb'), value: b64('1'), lease: 31 });
    for (let n = 0; n < 150; n++) await put(url, `fill/${n % 20}`, `v${n}`);
    await c.open(down);
    const back = c.member(down);
    const leadServer = c.member(lead).server;
    await until('the restarted member to catch up', 20_000, async () => back.server.appliedIndex >= leadServer.appliedIndex);
    const l = await ok(back.url, '/v3/lease/leases', {});
    assert.deepEqual(l.leases.map((x: Json) => x.ID).sort(), ['31', '32']);
    // Its attachments came with the snapshot: the revoke deletes the keys on it too.
    const rev = Number((await ok(url, '/v3/lease/revoke', { ID: 31 })).header.revision);
    await until('the revoke to reach the restored member', 10_000, async () => back.server.appliedIndex >= leadServer.appliedIndex);
    const r = await ok(back.url, '/v3/kv/range', { key: b64('s'), range_end: b64('t'), serializable: true });
    assert.equal(r.kvs, undefined, 'sa and sb are gone on the restored member');
    assert.equal(Number(r.header.revision), rev);
    assert.deepEqual((await ok(back.url, '/v3/lease/leases', {})).leases, [{ ID: '32' }]);
  } finally {
    await c.dispose();
  }
});

test('without a leader, keep-alive and time-to-live fail after the request timeout with 503/14 "etcdserver: no leader", as etcd', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3, { requestTimeoutMs: 1500 });
  try {
    const url = c.member(0).url;
    await ok(url, '/v3/lease/grant', { TTL: 60, ID: 3 });
    await c.stop(1);
    await c.stop(2);
    await until('member 0 to lose its leader', 10_000, async () => !c.member(0).server.hasLeader);
    const started = Date.now();
    const k = await fetch(url + '/v3/lease/keepalive', { method: 'POST', body: '{"ID":3}' });
    assert.ok(Date.now() - started >= 1400, 'it waited for a leader until the request timeout');
    assert.equal(k.status, 503);
    assert.equal(
      (await k.text()).trim(),
      '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}',
    );
    const t = await call(url, '/v3/lease/timetolive', { ID: 3 });
    assert.deepEqual([t.status, t.json], [503, { error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14 }]);
  } finally {
    await c.dispose();
  }
});
