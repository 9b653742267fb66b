import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenService } from '../../src/auth/index.js';
import { TestCluster } from '../harness/cluster.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { AuthedWatch, BAD_TOKEN, DENIED, USER_EMPTY, b64, call, denied, login, ok, refused, type Json } from './helpers.js';
import { mulberry32 } from '../harness/prng.js';

// Authorization across a replicated three-member cluster (real Raft, real LMDB, real HTTP):
// every member decides alike (A11), tokens are the cluster's (A13), a restarted or
// snapshot-restored member enforces the replicated permissions at once (A10), there is no
// response cache to leak through (A12), and lease calls forwarded to the leader are checked there.
// Requests go through the leader AND through followers.

let c: TestCluster;
let keys: TmpDir;
let root: string;
const PW = { root: 'root-secret-pw', alice: 'alice-secret-pw', bob: 'bob-secret-pw' };

const url = (i: number): string => c.member(i).url;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function leaderAndFollowers(): Promise<{ L: number; F: number; G: number }> {
  const L = await c.leader();
  return { L, F: (L + 1) % 3, G: (L + 2) % 3 };
}

/** Waits until every running member has applied as far as the most advanced one. */
async function settled(ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const running = c.slots.filter((s) => s.running !== null).map((s) => s.running!.server);
    const top = Math.max(...running.map((s) => s.appliedIndex));
    if (running.every((s) => s.appliedIndex === top && s.hasLeader)) return;
    if (Date.now() > deadline) throw new Error(`members did not converge: ${running.map((s) => s.appliedIndex).join(',')}`);
    await sleep(20);
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const grantPerm = (at: number, role: string, permType: string, key: string, rangeEnd: string): Promise<Json> =>
  ok(url(at), '/v3/auth/role/grant', { name: role, perm: { permType, key: b64(key), range_end: b64(rangeEnd) } }, root);
const revokePerm = (at: number, role: string, key: string, rangeEnd: string): Promise<Json> =>
  ok(url(at), '/v3/auth/role/revoke', { role, key: b64(key), range_end: b64(rangeEnd) }, root);

/** Everything in the keyspace on member i at `revision`, read locally (serializable). */
async function dump(i: number, revision: number): Promise<Json[]> {
  const r = await ok(url(i), '/v3/kv/range', { key: b64('\0'), range_end: b64('\0'), serializable: true, revision }, root);
  return (r['kvs'] as Json[] | undefined) ?? [];
}

/** The auth state member i serves: status, users with their roles, roles with their perms. */
async function authState(i: number): Promise<Json> {
  const status = await ok(url(i), '/v3/auth/status', {}, root);
  const users = ((await ok(url(i), '/v3/auth/user/list', {}, root))['users'] as string[]) ?? [];
  const roles = ((await ok(url(i), '/v3/auth/role/list', {}, root))['roles'] as string[]) ?? [];
  const out: Json = { enabled: status['enabled'], authRevision: status['authRevision'], users: {}, roles: {} };
  for (const u of users) out['users'][u] = (await ok(url(i), '/v3/auth/user/get', { name: u }, root))['roles'] ?? [];
  for (const r of roles) out['roles'][r] = (await ok(url(i), '/v3/auth/role/get', { role: r }, root))['perm'] ?? [];
  return out;
}

/** Every member holds the same bytes at the same revision and the same auth state. */
async function assertConverged(): Promise<{ kvs: Json[]; revision: number }> {
  await settled();
  const { L } = await leaderAndFollowers();
  const revision = Number((await ok(url(L), '/v3/kv/range', { key: b64('\0'), range_end: b64('\0'), count_only: true }, root))['header']['revision']);
  await settled();
  const running = c.slots.map((s, i) => ({ s, i })).filter((x) => x.s.running !== null).map((x) => x.i);
  const dumps = await Promise.all(running.map((i) => dump(i, revision)));
  for (const [k, d] of dumps.entries()) assert.deepEqual(d, dumps[0], `member ${running[k]} differs from member ${running[0]} at revision ${revision}`);
  const states = await Promise.all(running.map((i) => authState(i)));
  for (const [k, s] of states.entries()) assert.deepEqual(s, states[0], `auth state of member ${running[k]} differs`);
  return { kvs: dumps[0]!, revision };
}

before(async () => {
  keys = makeTmpDir('keyward-auth-cluster-');
  // One signing key for the whole cluster, as --auth-token-key-file is meant to be used.
  const keyFile = join(keys.path, 'token.key');
  writeFileSync(keyFile, await TokenService.generateKeyPem(), { mode: 0o600 });
  c = await TestCluster.start(3, { server: { authTokenKeyFile: keyFile }, snapshotCount: 40, snapshotCatchUpEntries: 10 });
  const { L, F } = await leaderAndFollowers();
  // Auth set up through a follower (it proposes; every member applies), enabled through the leader.
  await ok(url(F), '/v3/auth/user/add', { name: 'root', password: PW.root });
  await ok(url(F), '/v3/auth/role/add', { name: 'root' });
  await ok(url(F), '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok(url(L), '/v3/auth/enable', {});
  root = await login(url(L), 'root', PW.root);
  for (const name of ['alice', 'bob'] as const) await ok(url(L), '/v3/auth/user/add', { name, password: PW[name] }, root);
  for (const role of ['app', 'extra', 'racer', 'watcher']) await ok(url(L), '/v3/auth/role/add', { name: role }, root);
  await grantPerm(L, 'app', 'READWRITE', 'app/', 'app0');
  await grantPerm(L, 'watcher', 'READ', 'watched/', 'watched0');
  await ok(url(L), '/v3/auth/user/grant', { user: 'alice', role: 'app' }, root);
  await ok(url(L), '/v3/auth/user/grant', { user: 'bob', role: 'watcher' }, root);
  await ok(url(L), '/v3/kv/put', { key: b64('secret'), value: b64('s3cr3t') }, root);
  await settled();
});
// Each test starts from alice's known password (a failed test must not fail the ones after it).
afterEach(async () => {
  c.heal();
  await ok(url(await c.leader()), '/v3/auth/user/changepw', { name: 'alice', password: PW.alice }, root);
});
after(async () => {
  await c?.dispose();
  keys?.cleanup();
});

describe('A13 tokens are the cluster\'s', () => {
  test('a token issued by a follower is accepted by every member, and dies everywhere after a password change applied through another member', async () => {
    const { L, F, G } = await leaderAndFollowers();
    const t = await login(url(F), 'alice', PW.alice);
    await ok(url(L), '/v3/kv/put', { key: b64('app/tok'), value: b64('1') }, t);
    for (const i of [L, F, G]) await ok(url(i), '/v3/kv/range', { key: b64('app/tok') }, t);
    // The change goes through follower G; once acknowledged, every member that has applied it
    // refuses the old token (linearizable reads pass a barrier, so they are refused everywhere).
    await ok(url(G), '/v3/auth/user/changepw', { name: 'alice', password: 'alice-new-pw-1' }, root);
    for (const i of [L, F, G]) {
      await refused(url(i), '/v3/kv/range', { key: b64('app/tok') }, t, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    }
    await settled();
    for (const i of [L, F, G]) {
      await refused(url(i), '/v3/kv/range', { key: b64('app/tok'), serializable: true }, t, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
      await refused(url(i), '/v3/kv/put', { key: b64('app/tok'), value: b64('dead') }, t, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
      // The new password works on every member (the change replicated with its hash).
      const fresh = await login(url(i), 'alice', 'alice-new-pw-1');
      await ok(url(i), '/v3/kv/range', { key: b64('app/tok'), serializable: true }, fresh);
    }
    await ok(url(L), '/v3/auth/user/changepw', { name: 'alice', password: PW.alice }, root);
    const v = await ok(url(L), '/v3/kv/range', { key: b64('app/tok') }, root);
    assert.equal(v['kvs'][0]['value'], b64('1'));
  });

  /**
   * Isolates follower F until it has no leader, changes alice's password through the leader, and
   * sends `request` with alice's old token to F: F admits it at its edge on the stale auth state
   * (it has not applied the change), and decides it once healed. Returns F's answer.
   */
  async function withLaggingFollower(path: string, body: Json): Promise<{ status: number; json: Json }> {
    const { L, F } = await leaderAndFollowers();
    const t = await login(url(L), 'alice', PW.alice);
    await ok(url(L), '/v3/kv/put', { key: b64('app/lag'), value: b64('before') }, t);
    await settled();
    c.isolate(F);
    try {
      await waitFor('the isolated follower to lose its leader', () => !c.member(F).server.hasLeader);
      await ok(url(L), '/v3/auth/user/changepw', { name: 'alice', password: 'alice-new-pw-2' }, root);
      // F has not applied the change: a serializable read there is local and still accepted
      // (etcd too accepts a token until its member applies the revocation).
      await ok(url(F), '/v3/kv/range', { key: b64('app/lag'), serializable: true }, t);
      const answer = call(url(F), path, body, t);
      await sleep(100);
      c.heal();
      return await answer;
    } finally {
      c.heal();
    }
  }
  const INVALID = { status: BAD_TOKEN.status, json: { error: BAD_TOKEN.message, message: BAD_TOKEN.message, code: BAD_TOKEN.code } };

  test('a write with a token revoked earlier in the log is refused at apply, though the lagging follower admitted it', async () => {
    const w = await withLaggingFollower('/v3/kv/put', { key: b64('app/lag'), value: b64('dead-token') });
    assert.deepEqual({ status: w.status, json: w.json }, INVALID);
    const { kvs } = await assertConverged();
    assert.equal(kvs.find((kv) => kv['key'] === b64('app/lag'))?.['value'], b64('before'));
  });

  test('a linearizable read with a token revoked before the read began is refused once the follower passes its read barrier', async () => {
    const r = await withLaggingFollower('/v3/kv/range', { key: b64('app/lag') });
    assert.deepEqual({ status: r.status, json: r.json }, INVALID);
  });
});

describe('A11 edge check vs apply-time check', () => {
  test('a write admitted at a lagging follower\'s edge is refused at apply when the permission was revoked before it in the log, the same on every member', async () => {
    const { L, F } = await leaderAndFollowers();
    await grantPerm(L, 'racer', 'READWRITE', 'race/', 'race0');
    await ok(url(L), '/v3/auth/user/grant', { user: 'alice', role: 'racer' }, root);
    const t = await login(url(L), 'alice', PW.alice);
    const put = await ok(url(L), '/v3/kv/put', { key: b64('race/a'), value: b64('allowed') }, t);
    await settled();
    c.isolate(F);
    try {
      await waitFor('the isolated follower to lose its leader', () => !c.member(F).server.hasLeader);
      await revokePerm(L, 'racer', 'race/', 'race0');
      // F still holds the permission (it has not applied the revoke): its edge check admits.
      await ok(url(F), '/v3/kv/range', { key: b64('race/a'), serializable: true }, t);
      const write = call(url(F), '/v3/kv/put', { key: b64('race/a'), value: b64('after-revoke') }, t);
      const del = call(url(F), '/v3/kv/deleterange', { key: b64('race/a') }, t);
      await sleep(100);
      c.heal();
      for (const r of await Promise.all([write, del])) {
        assert.deepEqual({ status: r.status, json: r.json }, { status: DENIED.status, json: { error: DENIED.message, message: DENIED.message, code: DENIED.code } });
      }
    } finally {
      c.heal();
    }
    const { kvs } = await assertConverged();
    const a = kvs.find((kv) => kv['key'] === b64('race/a'));
    assert.equal(a?.['value'], b64('allowed'));
    assert.equal(a?.['mod_revision'], put['header']['revision'], 'no write by alice landed after the revoke');
    // Now refused at every edge too.
    for (const i of [0, 1, 2]) await denied(url(i), '/v3/kv/put', { key: b64('race/a'), value: b64('x') }, t);
  });

  test('A5 at apply: a lease revoke admitted while the lease held only the caller\'s keys is refused when a forbidden key was attached before it in the log', async () => {
    const { L, F } = await leaderAndFollowers();
    const t = await login(url(L), 'alice', PW.alice);
    const lease = String((await ok(url(L), '/v3/lease/grant', { TTL: 600 }, t))['ID']);
    await ok(url(L), '/v3/kv/put', { key: b64('app/own'), value: b64('v'), lease }, t);
    await settled();
    c.isolate(F);
    try {
      await waitFor('the isolated follower to lose its leader', () => !c.member(F).server.hasLeader);
      // The auth state does not move: only the lease's keys do.
      await ok(url(L), '/v3/kv/put', { key: b64('secret/attached'), value: b64('keep'), lease }, root);
      const revoke = call(url(F), '/v3/lease/revoke', { ID: lease }, t);
      await sleep(100);
      c.heal();
      const r = await revoke;
      assert.deepEqual({ status: r.status, json: r.json }, { status: DENIED.status, json: { error: DENIED.message, message: DENIED.message, code: DENIED.code } });
    } finally {
      c.heal();
    }
    const { kvs } = await assertConverged();
    assert.equal(kvs.find((kv) => kv['key'] === b64('secret/attached'))?.['value'], b64('keep'));
    assert.equal((await ok(url(L), '/v3/lease/timetolive', { ID: lease, keys: true }, root))['keys'].length, 2);
    await ok(url(L), '/v3/lease/revoke', { ID: lease }, root);
  });

  test('A11 random schedule: auth changes racing with writes through every member leave byte-identical replicas; refusals change nothing', { timeout: 60_000 }, async (t) => {
    const seed = Number(process.env['KEYWARD_TEST_SEED'] ?? Date.now() % 2 ** 31);
    const rand = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    try {
      const { L } = await leaderAndFollowers();
      let password = PW.alice;
      let token = await login(url(L), 'alice', password);
      let extraGranted = false;
      let extraRole = false;
      await ok(url(L), '/v3/auth/user/grant', { user: 'alice', role: 'extra' }, root);
      extraRole = true;
      token = await login(url(L), 'alice', password);
      type Outcome = { key: string; value: string; status: number; json: Json };
      const writes: Outcome[] = [];
      let n = 0;
      const writer = async (ops: number): Promise<void> => {
        for (let k = 0; k < ops; k++) {
          const id = n++;
          const key = `${pick(['app/', 'x/'])}w${seed}-${id}`;
          const value = `v${id}`;
          const at = Math.floor(rand() * 3);
          const body = rand() < 0.7 ? { key: b64(key), value: b64(value) } : null;
          const r = body !== null
            ? await call(url(at), '/v3/kv/put', body, token)
            : await call(url(at), '/v3/kv/txn', { success: [{ request_put: { key: b64(key), value: b64(value) } }] }, token);
          writes.push({ key, value, status: r.status, json: r.json });
          // A client whose token died logs in again (the password may change under it: retry).
          if (r.status === BAD_TOKEN.status) {
            for (let tries = 0; tries < 20; tries++) {
              const a = await call(url(at), '/v3/auth/authenticate', { name: 'alice', password });
              if (a.status === 200) {
                token = String(a.json['token']);
                break;
              }
            }
          }
          await sleep(Math.floor(rand() * 10));
        }
      };
      const admin = async (ops: number): Promise<void> => {
        for (let k = 0; k < ops; k++) {
          const at = Math.floor(rand() * 3);
          const what = pick(['perm', 'perm', 'perm', 'role', 'password']);
          if (what === 'perm') {
            if (extraGranted) await revokePerm(at, 'extra', 'x/', 'x0');
            else await grantPerm(at, 'extra', 'READWRITE', 'x/', 'x0');
            extraGranted = !extraGranted;
          } else if (what === 'role') {
            await ok(url(at), extraRole ? '/v3/auth/user/revoke' : '/v3/auth/user/grant', extraRole ? { name: 'alice', role: 'extra' } : { user: 'alice', role: 'extra' }, root);
            extraRole = !extraRole;
          } else {
            password = `alice-pw-${seed}-${k}`;
            await ok(url(at), '/v3/auth/user/changepw', { name: 'alice', password }, root);
          }
          // Credential changes kill the token; writers keep using the old one until this lands.
          if (what !== 'perm') token = await login(url(Math.floor(rand() * 3)), 'alice', password);
          await sleep(Math.floor(rand() * 15));
        }
      };
      await Promise.all([admin(15), writer(15), writer(15), writer(15)]);
      const { kvs } = await assertConverged();
      const byKey = new Map(kvs.map((kv) => [Buffer.from(String(kv['key']), 'base64').toString(), kv]));
      let accepted = 0;
      const refusedAnswers = new Map<string, number>();
      for (const w of writes) {
        const kv = byKey.get(w.key);
        if (w.status === 200) {
          accepted++;
          assert.ok(kv !== undefined, `accepted write ${w.key} is missing`);
          assert.equal(kv['value'], b64(w.value));
          assert.equal(kv['mod_revision'], w.json['header']['revision']);
        } else {
          // Only etcd's two answers, exactly, and nothing written anywhere.
          const expected = w.status === DENIED.status ? DENIED : BAD_TOKEN;
          assert.deepEqual({ status: w.status, json: w.json }, { status: expected.status, json: { error: expected.message, message: expected.message, code: expected.code } }, w.key);
          assert.equal(kv, undefined, `refused write ${w.key} landed`);
          refusedAnswers.set(expected.message, (refusedAnswers.get(expected.message) ?? 0) + 1);
        }
      }
      // Every app/ write was allowed by permissions, so only a dead token could refuse one.
      for (const w of writes) if (w.key.startsWith('app/') && w.status === DENIED.status) assert.fail(`app/ write refused as denied: ${w.key}`);
      assert.ok(accepted > 0, 'some writes landed');
      t.diagnostic(`seed ${seed}: ${accepted} writes accepted, refused: ${JSON.stringify(Object.fromEntries(refusedAnswers))}`);
      // Back to the starting state for the tests after this one.
      if (!extraRole) await ok(url(L), '/v3/auth/user/grant', { user: 'alice', role: 'extra' }, root);
      if (extraGranted) await revokePerm(L, 'extra', 'x/', 'x0');
      await ok(url(L), '/v3/auth/user/changepw', { name: 'alice', password: PW.alice }, root);
    } catch (e) {
      console.error(`A11 random schedule failed with KEYWARD_TEST_SEED=${seed}`);
      throw e;
    }
  });
});

describe('A12 no response cache', () => {
  test('user A\'s allowed range followed by user B\'s identical request on the same member: refused for B', async () => {
    const { L, F } = await leaderAndFollowers();
    const alice = await login(url(F), 'alice', PW.alice);
    const bob = await login(url(F), 'bob', PW.bob);
    await ok(url(L), '/v3/kv/put', { key: b64('app/cached'), value: b64('v') }, alice);
    for (const i of [L, F]) {
      for (const req of [{ key: b64('app/cached') }, { key: b64('app/cached'), serializable: true }]) {
        const r = await ok(url(i), '/v3/kv/range', req, alice);
        assert.equal(r['count'], '1');
        await denied(url(i), '/v3/kv/range', req, bob);
      }
    }
  });
});

describe('A10 restart and snapshot restore', () => {
  test('a restarted member enforces the replicated permissions at once; tokens from before the restart still hold', async () => {
    const { L, F } = await leaderAndFollowers();
    const bob = await login(url(F), 'bob', PW.bob);
    await ok(url(L), '/v3/kv/put', { key: b64('watched/a'), value: b64('1') }, root);
    await settled();
    await c.stop(F);
    await c.open(F);
    // No waiting for a leader: the member's own applied state decides serializable reads.
    const r = await ok(url(F), '/v3/kv/range', { key: b64('watched/a'), serializable: true }, bob);
    assert.equal(r['count'], '1');
    await denied(url(F), '/v3/kv/range', { key: b64('secret'), serializable: true }, bob);
    await denied(url(F), '/v3/kv/range', { key: b64('app/'), range_end: b64('app0'), serializable: true }, bob);
    await c.member(F).server.ready();
    await settled();
  });

  test('a member healed by a snapshot enforces permissions changed while it was away, and its open watches are re-checked', { timeout: 60_000 }, async () => {
    const { L, F } = await leaderAndFollowers();
    await grantPerm(L, 'watcher', 'READ', 'snap/', 'snap0');
    const bob = await login(url(L), 'bob', PW.bob);
    await settled();
    const w = new AuthedWatch(url(F), bob);
    const w2 = new AuthedWatch(url(F), bob);
    try {
      w.send({ create_request: { key: b64('snap/'), range_end: b64('snap0') } });
      assert.equal((await w.next())['created'], true);
      w2.send({ create_request: { key: b64('watched/'), range_end: b64('watched0') } });
      assert.equal((await w2.next())['created'], true);
      const appliedBefore = c.member(F).server.appliedIndex;
      c.isolate(F);
      await revokePerm(L, 'watcher', 'snap/', 'snap0');
      // Far more entries than the leader keeps behind its snapshots (snapshotCount 40, catch-up 10).
      for (let i = 0; i < 120; i++) await ok(url(L), '/v3/kv/put', { key: b64(`fill/${i % 5}`), value: b64(`v${i}`) }, root);
      c.heal();
      await settled(30_000);
      assert.ok(c.member(F).server.appliedIndex > appliedBefore + 100);
      const canceled = await w.next(5000);
      assert.equal(canceled['canceled'], true);
      assert.equal(canceled['cancel_reason'], DENIED.message);
      // The watch still allowed stays open and sees a new write.
      await ok(url(L), '/v3/kv/put', { key: b64('watched/b'), value: b64('2') }, root);
      const ev = await w2.next(5000);
      assert.equal(ev['events'][0]['kv']['key'], b64('watched/b'));
      await denied(url(F), '/v3/kv/range', { key: b64('snap/'), range_end: b64('snap0'), serializable: true }, bob);
      await ok(url(F), '/v3/kv/range', { key: b64('watched/b'), serializable: true }, bob);
    } finally {
      w.close();
      w2.close();
      c.heal();
    }
    await assertConverged();
  });
});

describe('lease calls forwarded to the leader carry the caller', () => {
  test('keep-alive and time-to-live through a follower: refused without WRITE/READ on the lease\'s keys, served with them', async () => {
    const { L, F } = await leaderAndFollowers();
    const alice = await login(url(F), 'alice', PW.alice);
    const foreign = String((await ok(url(L), '/v3/lease/grant', { TTL: 600 }, root))['ID']);
    await ok(url(L), '/v3/kv/put', { key: b64('secret/leased'), value: b64('v'), lease: foreign }, root);
    const own = String((await ok(url(F), '/v3/lease/grant', { TTL: 600 }, alice))['ID']);
    await ok(url(F), '/v3/kv/put', { key: b64('app/leased'), value: b64('v'), lease: own }, alice);
    await settled();
    for (const i of [F, L]) {
      const ka = await call(url(i), '/v3/lease/keepalive', JSON.stringify({ ID: foreign }), alice);
      assert.match(ka.text, /permission denied/, `keep-alive of a foreign lease through member ${i}`);
      assert.doesNotMatch(ka.text, /"TTL"/);
      await denied(url(i), '/v3/lease/timetolive', { ID: foreign, keys: true }, alice);
      const mine = await call(url(i), '/v3/lease/keepalive', JSON.stringify({ ID: own }), alice);
      assert.equal(mine.status, 200);
      const line = JSON.parse(mine.text.trim().split('\n')[0]!) as Json;
      assert.equal(line['result']['ID'], own);
      assert.equal(line['result']['TTL'], '600');
      const ttl = await ok(url(i), '/v3/lease/timetolive', { ID: own, keys: true }, alice);
      assert.deepEqual(ttl['keys'], [b64('app/leased')]);
      await refused(url(i), '/v3/lease/timetolive', { ID: own }, undefined, USER_EMPTY.status, USER_EMPTY.code, USER_EMPTY.message);
    }
    // A token that died (password change) is refused by the leader even when a follower forwards it.
    await ok(url(L), '/v3/auth/user/changepw', { name: 'alice', password: 'alice-new-pw-3' }, root);
    await settled();
    await refused(url(F), '/v3/lease/timetolive', { ID: own }, alice, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    await ok(url(L), '/v3/auth/user/changepw', { name: 'alice', password: PW.alice }, root);
    assert.equal((await ok(url(L), '/v3/kv/range', { key: b64('secret/leased') }, root))['count'], '1');
  });
});

