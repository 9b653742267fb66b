import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAuthError, type PermType } from '../../src/auth/index.js';
import { compareBytes, keyRangeInterval } from '../../src/adt/index.js';
import { Prng } from '../harness/simnet.js';
import { cmp, delReq, enc, op, putReq, rangeReq, txnReq } from '../mvcc/helpers.js';
import { CompareResult, CompareTarget, type TxnRequest } from '../../src/wire/index.js';
import { AuthFixture, perm, userWithPerms } from './helpers.js';

// AuthChecker against etcd's permission semantics (API.md section 10): merged role intervals,
// whole-interval coverage, open ends, prev_kv, txn compares and both branches to full depth
// (GUARANTEES A1-A4), cache invalidation, and a seeded comparison with a brute-force model.

async function withFixture(fn: (f: AuthFixture) => Promise<void> | void): Promise<void> {
  const f = new AuthFixture();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

const NONE = new Uint8Array(0);
const ZERO = Uint8Array.of(0);
const denied = (e: unknown): boolean => isAuthError(e, 'PERMISSION_DENIED');

/** The API.md example: [app/, app0) READWRITE in one role, [app0, b) READ in another. */
function appUser(f: AuthFixture): void {
  f.must({ type: 'userAdd', name: 'alice', noPassword: true }, { type: 'roleAdd', name: 'rw' }, { type: 'roleAdd', name: 'ro' });
  f.must({ type: 'roleGrantPermission', name: 'rw', perm: perm('READWRITE', 'app/', 'app0') });
  f.must({ type: 'roleGrantPermission', name: 'ro', perm: perm('READ', 'app0', 'b') });
  f.must({ type: 'userGrantRole', user: 'alice', role: 'rw' }, { type: 'userGrantRole', user: 'alice', role: 'ro' });
}

test('A1: the union of roles counts; partial overlap on either side, and the exclusive end, are denied', () =>
  withFixture((f) => {
    appUser(f);
    const c = f.checker;
    const read = (k: string, e: string | Uint8Array): boolean => c.canRead('alice', enc(k), typeof e === 'string' ? enc(e) : e);
    assert.equal(read('app/a', 'b'), true, '[app/a, b) spans both roles');
    assert.equal(read('app/', 'b'), true);
    assert.equal(read('app.', 'b'), false, 'starts before the permitted interval');
    assert.equal(read('app/a', 'b\0'), false, 'ends past it');
    assert.equal(read('b', ''), false, 'the exclusive end key itself');
    assert.equal(read('a', ''), false);
    assert.equal(read('app0', ''), true, 'single key inside the READ role');
    assert.equal(c.canWrite('alice', enc('app0'), NONE), false, 'READ role grants no WRITE');
    assert.equal(c.canWrite('alice', enc('app/x'), NONE), true);
    assert.equal(c.canWrite('alice', enc('app/'), enc('app0')), true);
    assert.equal(c.canWrite('alice', enc('app/'), enc('app0\0')), false);
    assert.doesNotThrow(() => c.checkRange('alice', rangeReq('app/a', { end: 'b', limit: 1, countOnly: true })));
    // A1 variants: a straddling range, a prefix without the slash, from-key, empty key.
    for (const [k, e] of [['app/', 'c'], ['app', 'app0'], ['app/a', ZERO], ['', ZERO], ['', NONE], ['\0', ZERO]] as const) {
      assert.throws(() => c.checkRange('alice', rangeReq(k, { end: e, keysOnly: true, revision: 1 })), denied, `range ${JSON.stringify([k, e])}`);
    }
  }));

test('A1: open-ended permissions, and a grant of everything ("" .. "\\0")', () =>
  withFixture((f) => {
    userWithPerms(f, 'from', [perm('READ', 'm', ZERO)]);
    userWithPerms(f, 'all', [perm('READ', NONE, ZERO)]);
    const c = f.checker;
    assert.equal(c.canRead('from', enc('m'), ZERO), true, '[m, ∞) from-key');
    assert.equal(c.canRead('from', enc('zzz'), enc('\xff')), true);
    assert.equal(c.canRead('from', enc('l'), ZERO), false);
    assert.equal(c.canRead('from', ZERO, ZERO), false, 'all keys');
    assert.equal(c.canRead('all', ZERO, ZERO), true, 'key "\\0" with range_end "\\0": all keys');
    assert.equal(c.canRead('all', NONE, ZERO), true);
    assert.equal(c.canRead('all', NONE, NONE), true, 'the empty key is inside ["", ∞)');
    assert.equal(c.canWrite('all', enc('a'), NONE), false);
  }));

test('A1: a single-key permission covers that key only; a range or a from-key on it is denied', () =>
  withFixture((f) => {
    userWithPerms(f, 'one', [perm('READWRITE', 'k')]);
    const c = f.checker;
    assert.equal(c.canRead('one', enc('k'), NONE), true);
    assert.equal(c.canRead('one', enc('k'), enc('k\0')), true, '[k, k\\0) is the same single key');
    assert.equal(c.canRead('one', enc('k'), enc('l')), false);
    assert.equal(c.canRead('one', enc('k'), ZERO), false, 'A7: from-key from a single permitted key');
    assert.equal(c.canRead('one', enc('k\0'), NONE), false);
    assert.throws(() => c.checkWatch('one', enc('k'), ZERO), denied);
    assert.doesNotThrow(() => c.checkWatch('one', enc('k'), NONE));
    // A request naming nothing (range_end <= key) is denied to non-admins (R5).
    assert.equal(c.canRead('one', enc('k'), enc('a')), false);
  }));

test('role root covers everything; an unknown user nothing; checkAdmin', () =>
  withFixture((f) => {
    f.must({ type: 'bootstrap' });
    userWithPerms(f, 'alice', [perm('READWRITE', NONE, ZERO)]);
    const c = f.checker;
    assert.equal(c.isAdmin('root'), true);
    assert.equal(c.canWrite('root', NONE, ZERO), true);
    assert.equal(c.canRead('root', enc('z'), enc('a')), true);
    assert.doesNotThrow(() => c.checkAdmin('root'));
    assert.equal(c.isAdmin('alice'), false, 'covering every key is not being admin');
    assert.throws(() => c.checkAdmin('alice'), denied);
    assert.equal(c.canRead('ghost', enc('a'), NONE), false);
    assert.throws(() => c.checkAdmin('ghost'), denied);
    assert.throws(() => c.checkKeysReadable('ghost', [enc('a')]), denied);
  }));

test('A4: prev_kv on put and delete needs READ as well, top-level and inside a txn', () =>
  withFixture((f) => {
    userWithPerms(f, 'w', [perm('WRITE', 'a', 'z'), perm('READ', 'a', 'm')]);
    const c = f.checker;
    assert.doesNotThrow(() => c.checkPut('w', putReq('q', 'v')));
    assert.throws(() => c.checkPut('w', putReq('q', 'v', { prevKv: true })), denied);
    assert.doesNotThrow(() => c.checkPut('w', putReq('b', 'v', { prevKv: true })));
    assert.doesNotThrow(() => c.checkDeleteRange('w', delReq('b', 'q')));
    assert.throws(() => c.checkDeleteRange('w', delReq('b', 'q', true)), denied, 'partly unreadable with prev_kv');
    assert.doesNotThrow(() => c.checkDeleteRange('w', delReq('b', 'l', true)));
    assert.throws(() => c.checkRange('w', rangeReq('q')), denied, 'WRITE grants no READ');
    assert.throws(() => c.checkTxn('w', txnReq([], [op.put(putReq('q', 'v', { prevKv: true }))])), denied);
    assert.throws(() => c.checkTxn('w', txnReq([], [], [op.del(delReq('b', 'q', true))])), denied);
    assert.doesNotThrow(() => c.checkTxn('w', txnReq([], [op.put(putReq('q', 'v'))], [op.del(delReq('b', 'q'))])));
  }));

test('A2/A3: txn compares need READ; ops of the untaken branch and nested txns are checked to full depth', () =>
  withFixture((f) => {
    userWithPerms(f, 'u', [perm('READWRITE', 'ok/', 'ok0')]);
    const c = f.checker;
    const fine = op.put(putReq('ok/a', 'v'));
    assert.doesNotThrow(() => c.checkTxn('u', txnReq([cmp('ok/a', CompareTarget.VERSION, CompareResult.EQUAL, { kind: 'version', version: 0 })], [fine], [op.range(rangeReq('ok/', { end: 'ok0' }))])));
    assert.throws(() => c.checkTxn('u', txnReq([cmp('secret', CompareTarget.VALUE, CompareResult.EQUAL, { kind: 'value', value: enc('x') })], [fine])), denied, 'compare on a forbidden key');
    assert.throws(() => c.checkTxn('u', txnReq([cmp('ok/', CompareTarget.MOD, CompareResult.GREATER, { kind: 'modRevision', modRevision: 0 }, 'ok1')], [fine])), denied, 'compare range past the permission');
    assert.throws(() => c.checkTxn('u', txnReq([], [fine], [op.put(putReq('secret', 'v'))])), denied, 'forbidden op in the failure branch');
    assert.throws(() => c.checkTxn('u', txnReq([], [op.range(rangeReq('secret'))], [fine])), denied, 'forbidden op in the success branch');
    // Nested: the forbidden op sits 50 levels down in a failure branch.
    let inner: TxnRequest = txnReq([], [fine], [op.del(delReq('secret'))]);
    for (let i = 0; i < 50; i++) inner = txnReq([], i % 2 === 0 ? [op.txn(inner)] : [fine], i % 2 === 0 ? [fine] : [op.txn(inner)]);
    assert.throws(() => c.checkTxn('u', inner), denied);
    let innerOk: TxnRequest = txnReq([], [fine], [op.none()]);
    for (let i = 0; i < 50; i++) innerOk = txnReq([], [op.txn(innerOk)], [fine]);
    assert.doesNotThrow(() => c.checkTxn('u', innerOk));
    // A compare nested deep inside is checked too.
    const deepCmp = txnReq([], [op.txn(txnReq([], [op.txn(txnReq([cmp('secret', CompareTarget.CREATE, CompareResult.LESS, { kind: 'createRevision', createRevision: 9 })], []))]))]);
    assert.throws(() => c.checkTxn('u', deepCmp), denied);
  }));

test('lease key checks: checkKeysWritable / checkKeysReadable need the permission on every key', () =>
  withFixture((f) => {
    userWithPerms(f, 'u', [perm('WRITE', 'a', 'c'), perm('READ', 'x')]);
    const c = f.checker;
    assert.doesNotThrow(() => c.checkKeysWritable('u', [enc('a'), enc('b\xff')]));
    assert.throws(() => c.checkKeysWritable('u', [enc('a'), enc('c')]), denied);
    assert.doesNotThrow(() => c.checkKeysWritable('u', []));
    assert.doesNotThrow(() => c.checkKeysReadable('u', [enc('x')]));
    assert.throws(() => c.checkKeysReadable('u', [enc('x'), enc('a')]), denied);
  }));

test('the cache follows the table: revoke, role deletion and user deletion take effect at the next check', () =>
  withFixture((f) => {
    userWithPerms(f, 'u', [perm('READ', 'a', 'c'), perm('READ', 'c', 'e')], 'r');
    const c = f.checker;
    assert.equal(c.canRead('u', enc('a'), enc('e')), true);
    assert.equal(c.revision(), f.table.revision());
    f.must({ type: 'roleRevokePermission', role: 'r', key: enc('c'), rangeEnd: enc('e') });
    assert.equal(c.canRead('u', enc('a'), enc('e')), false, 'revoked perm no longer merges');
    assert.equal(c.canRead('u', enc('a'), enc('c')), true);
    f.must({ type: 'roleAdd', name: 'r2' }, { type: 'roleGrantPermission', name: 'r2', perm: perm('READ', 'c', 'e') }, { type: 'userGrantRole', user: 'u', role: 'r2' });
    assert.equal(c.canRead('u', enc('a'), enc('e')), true);
    f.must({ type: 'userRevokeRole', name: 'u', role: 'r2' });
    assert.equal(c.canRead('u', enc('a'), enc('e')), false);
    f.must({ type: 'roleDelete', role: 'r' });
    assert.equal(c.canRead('u', enc('a'), NONE), false);
    f.must({ type: 'roleAdd', name: 'r' }, { type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'a') }, { type: 'userGrantRole', user: 'u', role: 'r' });
    assert.equal(c.canRead('u', enc('a'), NONE), true);
    f.must({ type: 'userDelete', name: 'u' });
    assert.equal(c.canRead('u', enc('a'), NONE), false);
  }));

test('the cache is not fooled by a batch that wrote and rolled back', () =>
  withFixture((f) => {
    userWithPerms(f, 'u', [perm('READ', 'a')], 'r');
    const c = f.checker;
    assert.equal(c.canRead('u', enc('b'), NONE), false);
    // Inside a transaction that then aborts, grant b and let the checker see it.
    assert.throws(() =>
      f.storage.transactSync((txn) => {
        f.table.putRole(txn, { name: 'r', perms: [perm('READ', 'a'), perm('READ', 'b')] });
        f.table.putState(txn, { ...f.table.state(), revision: f.table.revision() + 1 });
        assert.equal(c.canRead('u', enc('b'), NONE), true);
        throw new Error('abort');
      }),
    );
    // Another change now commits at that same revision number, without b.
    f.must({ type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'c') });
    assert.equal(c.canRead('u', enc('b'), NONE), false);
    assert.equal(c.canRead('u', enc('c'), NONE), true);
  }));

// ---- seeded comparison with a brute-force model ----------------------------------------------

// Keys over a 3-letter alphabet up to length 3; a requested interval is allowed by the model when
// every key in it (from the finite universe, plus probes just past each boundary) is in some
// permitted interval. The universe is closed under the boundaries used, so coverage of every key
// of the universe inside the request is equivalent to coverage of the interval.
const ALPHABET = [0x00, 0x61, 0x62, 0xff];
function universe(): Uint8Array[] {
  const out: Uint8Array[] = [new Uint8Array(0)];
  let layer: Uint8Array[] = [new Uint8Array(0)];
  for (let len = 1; len <= 4; len++) {
    const next: Uint8Array[] = [];
    for (const p of layer) for (const c of ALPHABET) next.push(Uint8Array.of(...p, c));
    out.push(...next);
    layer = next;
  }
  return out.sort(compareBytes);
}
const KEYS = universe();

function randomKey(rng: Prng): Uint8Array {
  // Short keys over a small alphabet, so intervals often touch, nest and share ends.
  const len = rng.int(3);
  return Uint8Array.from({ length: len }, () => rng.pick(ALPHABET));
}

function randomEnd(rng: Prng, key: Uint8Array): Uint8Array {
  const r = rng.int(10);
  if (r < 3) return new Uint8Array(0);
  if (r < 4) return Uint8Array.of(0);
  const e = randomKey(rng);
  return compareBytes(e, key) > 0 ? e : Uint8Array.of(...key, rng.pick(ALPHABET));
}

test('seeded: AuthChecker agrees with a brute-force model over random roles and requests', () =>
  withFixture((f) => {
    const rng = new Prng(0x5eed);
    const model = new Map<string, Array<{ t: PermType; key: Uint8Array; end: Uint8Array }>>();
    for (let r = 0; r < 6; r++) {
      f.must({ type: 'roleAdd', name: `r${r}` });
      const perms: Array<{ t: PermType; key: Uint8Array; end: Uint8Array }> = [];
      for (let i = rng.int(5); i > 0; i--) {
        const key = randomKey(rng);
        const end = randomEnd(rng, key);
        const t = rng.pick<PermType>(['READ', 'WRITE', 'READWRITE']);
        f.must({ type: 'roleGrantPermission', name: `r${r}`, perm: { permType: t, key, rangeEnd: end } });
        const same = perms.findIndex((p) => compareBytes(p.key, key) === 0 && compareBytes(p.end, end) === 0);
        if (same >= 0) perms[same]!.t = t;
        else perms.push({ t, key, end });
      }
      model.set(`r${r}`, perms);
    }
    const users: Array<{ name: string; roles: string[] }> = [];
    for (let u = 0; u < 8; u++) {
      const roles = [...new Set(Array.from({ length: 1 + rng.int(3) }, () => `r${rng.int(6)}`))];
      f.must({ type: 'userAdd', name: `u${u}`, noPassword: true });
      for (const r of roles) f.must({ type: 'userGrantRole', user: `u${u}`, role: r });
      users.push({ name: `u${u}`, roles });
    }
    const modelAllows = (roles: string[], write: boolean, key: Uint8Array, end: Uint8Array): boolean => {
      const want = keyRangeInterval(key, end);
      if (want === undefined) return false;
      const ivls = roles.flatMap((r) => model.get(r)!.filter((p) => (write ? p.t !== 'READ' : p.t !== 'WRITE')).map((p) => keyRangeInterval(p.key, p.end)).filter((i) => i !== undefined));
      const inside = (i: { start: Uint8Array; end: Uint8Array | null }, k: Uint8Array): boolean => compareBytes(i.start, k) <= 0 && (i.end === null || compareBytes(k, i.end) < 0);
      return KEYS.filter((k) => inside(want, k)).every((k) => ivls.some((i) => inside(i, k)));
    };
    let allowed = 0;
    let checks = 0;
    for (let n = 0; n < 3000; n++) {
      const u = rng.pick(users);
      // Half the requests start and end on the user's own permission boundaries, where the
      // merging and the exclusive ends matter.
      const bounds = u.roles.flatMap((r) => model.get(r)!.flatMap((p) => [p.key, p.end.length === 0 ? Uint8Array.of(...p.key, 0) : p.end]));
      const onBounds = bounds.length > 0 && rng.chance(0.5);
      const key = onBounds ? rng.pick(bounds) : randomKey(rng);
      let end = onBounds ? rng.pick(bounds) : randomEnd(rng, key);
      if (onBounds && rng.chance(0.3)) end = randomEnd(rng, key);
      const write = rng.chance(0.5);
      const got = write ? f.checker.canWrite(u.name, key, end) : f.checker.canRead(u.name, key, end);
      const want = modelAllows(u.roles, write, key, end);
      assert.equal(got, want, `${u.name} ${write ? 'write' : 'read'} [${[...key]}, ${[...end]}) roles ${u.roles.join(',')}`);
      if (got) allowed++;
      checks++;
    }
    // The comparison means something only if both answers occur often.
    assert.ok(allowed > checks / 20 && allowed < checks - checks / 20, `allowed ${allowed} of ${checks}`);
  }));
