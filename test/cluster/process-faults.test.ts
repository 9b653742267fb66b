import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, put, call } from '../harness/cluster.js';
import { killSlot, leaderSlot, processSlots, startSlots, type ProcessSlot } from '../harness/process-cluster.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

// Three `keyward serve` processes on loopback, killed with SIGKILL: what an in-process test
// cannot do. Bounded versions run in `npm test`; FAULT_ROUNDS (npm run test:faults) repeats them.

const ROUNDS = Number(process.env['FAULT_ROUNDS'] ?? 1);

type Slot = ProcessSlot;
const slots = (n: number, dir: TmpDir): Promise<Slot[]> => processSlots(n, dir, 'p');
const startAll = (ss: Slot[], which?: number[]): Promise<void> => startSlots(ss, 'fault-test', which !== undefined ? { which } : {});
const kill = killSlot;
const leaderIndex = leaderSlot;

/** Writers spread over the running members; records every acknowledged write and its revision. */
function load(ss: Slot[], acked: Map<string, { value: string; revision: number }>): { stop(): Promise<void> } {
  let stopped = false;
  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let n = 0; !stopped; n++) {
      const live = ss.filter((s) => s.proc !== null);
      if (live.length === 0) return;
      const s = live[(w + n) % live.length]!;
      const key = `w${w}/${n}`;
      const value = `v${w}-${n}`;
      try {
        const res = await put(s.clientUrl, key, value);
        acked.set(key, { value, revision: Number(res['header']['revision']) });
      } catch {
        await new Promise((r) => setTimeout(r, 10)); // member died or no leader yet: not acknowledged
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

async function checkAcked(url: string, acked: Map<string, { value: string; revision: number }>): Promise<void> {
  const r = await call(url, '/v3/kv/range', { key: 'AA==', range_end: 'AA==' });
  assert.equal(r.status, 200);
  const found = new Map<string, { value: string; mod: number }>();
  for (const kv of r.json['kvs'] ?? []) {
    found.set(Buffer.from(kv.key, 'base64').toString(), { value: Buffer.from(kv.value, 'base64').toString(), mod: Number(kv.mod_revision) });
  }
  for (const [key, a] of acked) {
    const f = found.get(key);
    assert.ok(f, `acknowledged ${key} is missing`);
    assert.equal(f.value, a.value);
    assert.equal(f.mod, a.revision, `${key} kept the revision its acknowledgement named`);
  }
  const revisions = [...acked.values()].map((a) => a.revision);
  assert.equal(new Set(revisions).size, revisions.length, 'L3 no revision was handed out twice');
}

test('L4 three members killed with SIGKILL all at once after acks: every acknowledged write is there after restart', { timeout: 120_000 }, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const dir = makeTmpDir('keyward-l4-');
    const ss = await slots(3, dir);
    try {
      await startAll(ss);
      const acked = new Map<string, { value: string; revision: number }>();
      const l = load(ss, acked);
      while (acked.size < 300) await new Promise((r) => setTimeout(r, 20));
      await Promise.all(ss.map(kill));
      await l.stop();
      await startAll(ss);
      await leaderIndex(ss);
      for (const s of ss) await checkAcked(s.clientUrl, acked);
    } finally {
      await Promise.all(ss.map(kill));
      dir.cleanup();
    }
  }
});

test('L3 kill -9 of the leader under load: a new leader is elected, no acknowledged write is lost, revisions are never reused', { timeout: 120_000 }, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const dir = makeTmpDir('keyward-l3-');
    const ss = await slots(3, dir);
    try {
      await startAll(ss);
      const acked = new Map<string, { value: string; revision: number }>();
      const l = load(ss, acked);
      while (acked.size < 150) await new Promise((r) => setTimeout(r, 20));
      const old = await leaderIndex(ss);
      await kill(ss[old]!);
      const before = acked.size;
      const deadline = Date.now() + 15_000;
      while (acked.size < before + 150) {
        assert.ok(Date.now() < deadline, 'writes resume under a new leader');
        await new Promise((r) => setTimeout(r, 20));
      }
      const lead = await leaderIndex(ss);
      assert.notEqual(lead, old);
      await l.stop();
      await startAll(ss, [old]);
      // The restarted old leader converges too.
      const last = [...acked.keys()].at(-1)!;
      const until = Date.now() + 15_000;
      while ((await get(ss[old]!.clientUrl, last).catch(() => ({ value: undefined }))).value === undefined) {
        assert.ok(Date.now() < until, 'the old leader catches up');
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const s of ss) await checkAcked(s.clientUrl, acked);
    } finally {
      await Promise.all(ss.map(kill));
      dir.cleanup();
    }
  }
});

test('L9 a member removed from the cluster stops its process (exit 0), as etcd does; the others keep serving', { timeout: 120_000 }, async () => {
  const dir = makeTmpDir('keyward-rm-');
  const ss = await slots(3, dir);
  try {
    await startAll(ss);
    const lead = await leaderIndex(ss);
    const victim = ss[(lead + 1) % 3]!;
    const list = await call(ss[lead]!.clientUrl, '/v3/cluster/member/list', {});
    const id = (list.json['members'] as Array<{ ID: string; name?: string }>).find((m) => m.name === victim.name)?.ID;
    assert.ok(id !== undefined, 'the victim is listed');
    const res = await call(ss[lead]!.clientUrl, '/v3/cluster/member/remove', { ID: id });
    assert.equal(res.status, 200);
    const proc = victim.proc!;
    const { code } = await proc.exited;
    victim.proc = null;
    assert.equal(code, 0);
    assert.ok(proc.logs.some((l) => l.includes('removed from the cluster')));
    const survivor = ss.find((s) => s !== victim && s.proc !== null)!;
    await put(survivor.clientUrl, 'after-remove', 'v');
    assert.equal((await get(survivor.clientUrl, 'after-remove')).value, 'v');
  } finally {
    await Promise.all(ss.map(kill));
    dir.cleanup();
  }
});
