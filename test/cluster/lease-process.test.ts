import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, call, get, type Json } from '../harness/cluster.js';
import { killSlots, leaderSlot, processSlots, startSlots, type ProcessSlot } from '../harness/process-cluster.js';
import { makeTmpDir } from '../harness/tmpdir.js';

// GUARANTEES L13 with real `keyward serve` processes killed with SIGKILL: a lease still expires
// after every member restarts, from the remaining TTL its leader checkpointed through Raft (not
// reset to its full TTL), and keep-alives through a follower keep working afterwards.

const startAll = (ss: ProcessSlot[]): Promise<void> => startSlots(ss, 'lease-test', { extra: ['--experimental-lease-checkpoint-interval', '1s'] });

async function ok(url: string, path: string, body: unknown): Promise<Json> {
  const r = await call(url, path, body);
  assert.equal(r.status, 200, `${path} -> ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

test('L13 after kill -9 of every member a lease expires from its checkpointed remaining TTL; keep-alive through a follower works after the restart', { timeout: 120_000 }, async () => {
  const dir = makeTmpDir('keyward-lease-proc-');
  const ss = await processSlots(3, dir, 'l');
  try {
    await startAll(ss);
    const lead = await leaderSlot(ss);
    const url = ss[lead]!.clientUrl;
    await ok(url, '/v3/lease/grant', { TTL: 12, ID: 1 });
    await ok(url, '/v3/kv/put', { key: b64('doomed'), value: b64('v'), lease: 1 });
    await ok(url, '/v3/lease/grant', { TTL: 12, ID: 2 });
    await ok(url, '/v3/kv/put', { key: b64('kept'), value: b64('v'), lease: 2 });
    await new Promise((r) => setTimeout(r, 6500)); // ~6 checkpoints of lease 1: ~6 s left
    await killSlots(ss);
    await startAll(ss);
    const restarted = Date.now();
    const lead2 = await leaderSlot(ss);
    const follower = ss[(lead2 + 1) % 3]!.clientUrl;
    // Lease 2 is kept alive through a follower from now on.
    let stop = false;
    const renewals: Array<string | undefined> = [];
    const renewer = (async () => {
      while (!stop) {
        const res = await fetch(follower + '/v3/lease/keepalive', { method: 'POST', body: '{"ID":2}' }).catch(() => undefined);
        if (res?.status === 200) renewals.push(((JSON.parse((await res.text()).split('\n')[0]!) as Json)['result'] as Json)['TTL'] as string | undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const t = await ok(follower, '/v3/lease/timetolive', { ID: 1 });
    assert.equal(t.grantedTTL, '12');
    assert.ok(Number(t.TTL) <= 8, `counted from the checkpoint (~6 s left), not reset to 12 s: ${t.TTL}`);
    const deadline = Date.now() + 20_000;
    while ((await get(follower, 'doomed').catch(() => ({ value: 'v' }))).value !== undefined) {
      assert.ok(Date.now() < deadline, 'the lease expires after the restart');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(Date.now() - restarted < 11_000, `sooner than a full TTL after the restart: ${Date.now() - restarted} ms`);
    stop = true;
    await renewer;
    assert.equal((await get(follower, 'kept')).value, 'v', 'the kept-alive lease survived');
    assert.ok(renewals.length >= 3 && renewals.every((r) => r === '12'), `renewed through a follower: ${renewals.join(',')}`);
  } finally {
    await killSlots(ss);
    dir.cleanup();
  }
});
