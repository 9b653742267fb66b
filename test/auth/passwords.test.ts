import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPasswordPolicy, isAuthError, PasswordHasher, RateLimiter } from '../../src/auth/index.js';

// Passwords and brute force (GUARANTEES A15): the policy, pinned argon2id, the dummy verify for
// unknown users, the bound on concurrent hashing, and the authenticate rate limiter.

test('A15: password policy: at least 8 characters (code points), at most 1024', () => {
  const code = (pw: string): string => {
    try {
      checkPasswordPolicy(pw);
      return 'ok';
    } catch (e) {
      assert.ok(isAuthError(e));
      return e.code;
    }
  };
  assert.equal(code(''), 'PASSWORD_TOO_SHORT', 'empty password');
  assert.equal(code('1234567'), 'PASSWORD_TOO_SHORT');
  assert.equal(code('12345678'), 'ok');
  assert.equal(code('\u00e9'.repeat(7)), 'PASSWORD_TOO_SHORT');
  assert.equal(code('\u{1F511}'.repeat(4)), 'PASSWORD_TOO_SHORT', '4 characters in 8 UTF-16 units');
  assert.equal(code('\u{1F511}'.repeat(8)), 'ok');
  assert.equal(code('x'.repeat(1024)), 'ok');
  assert.equal(code('x'.repeat(1025)), 'REQUEST_TOO_LARGE');
  assert.equal(code('\u{1F511}'.repeat(1024)), 'ok', '1024 characters in 2048 units');
  assert.equal(code('x'.repeat(10_000_000)), 'REQUEST_TOO_LARGE');
});

test('A15: hashes are argon2id with the pinned parameters; verify is right and wrong as it should be', async () => {
  const h = new PasswordHasher();
  const hash = await h.hash('correct horse');
  assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  assert.ok(!hash.includes('correct horse'));
  assert.notEqual(await h.hash('correct horse'), hash, 'salted');
  assert.equal(await h.verify(hash, 'correct horse'), true);
  assert.equal(await h.verify(hash, 'correct horsE'), false);
  assert.equal(await h.verify('$argon2id$garbage', 'x'), false, 'an unparsable hash fails closed');
});

test('A15: an unknown user (no hash) costs a real argon2 verify and answers false', async () => {
  const h = new PasswordHasher();
  const hash = await h.hash('password1');
  // Warm up the dummy hash (made once, on first use).
  assert.equal(await h.verify(undefined, 'password1'), false);
  const time = async (fn: () => Promise<boolean>): Promise<number> => {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = process.hrtime.bigint();
      await fn();
      runs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return runs.sort((a, b) => a - b)[1]!;
  };
  const wrong = await time(() => h.verify(hash, 'wrong-password'));
  const unknown = await time(() => h.verify(undefined, 'wrong-password'));
  // A shortcut would answer in microseconds; the same argon2 work takes about as long as a verify.
  assert.ok(unknown > wrong * 0.4 && unknown < wrong * 2.5, `unknown ${unknown.toFixed(1)} ms vs wrong ${wrong.toFixed(1)} ms`);
  // And it takes a slot like any other verify.
  const p = h.verify(undefined, 'x');
  assert.deepEqual(h.load(), { running: 1, queued: 0 });
  assert.equal(await p, false);
});

test('A15: at most maxConcurrent hash/verify operations run; the queue is bounded, then TOO_MANY_AUTH_REQUESTS', async () => {
  const h = new PasswordHasher({ maxConcurrent: 2, maxQueued: 3 });
  const hash = await h.hash('password1');
  let maxRunning = 0;
  const watch = setInterval(() => (maxRunning = Math.max(maxRunning, h.load().running)), 1);
  try {
    const results = Array.from({ length: 7 }, (_, i) => h.verify(hash, i % 2 === 0 ? 'password1' : 'nope').then((ok) => ({ ok }), (e: unknown) => ({ e })));
    assert.deepEqual(h.load(), { running: 2, queued: 3 });
    const out = await Promise.all(results);
    const refused = out.filter((r) => 'e' in r);
    assert.equal(refused.length, 2);
    for (const r of refused) assert.ok('e' in r && isAuthError(r.e, 'TOO_MANY_AUTH_REQUESTS'));
    assert.deepEqual(
      out.slice(0, 5).map((r) => ('ok' in r ? r.ok : 'refused')),
      [true, false, true, false, true],
    );
    assert.deepEqual(h.load(), { running: 0, queued: 0 });
    assert.ok(maxRunning <= 2, `saw ${maxRunning} running`);
    // Slots are released: the hasher works again afterwards.
    assert.equal(await h.verify(hash, 'password1'), true);
  } finally {
    clearInterval(watch);
  }
});

class FakeClock {
  ms = 1_000_000;
  readonly now = (): number => this.ms;
}

test('A15: rate limiter: burst 5, then 1 per second, per key', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter({ burst: 5, perSecond: 1, now: clock.now });
  for (let i = 0; i < 5; i++) assert.equal(rl.take('alice'), true, `attempt ${i + 1}`);
  assert.equal(rl.take('alice'), false);
  assert.equal(rl.take('bob'), true, 'keys are independent');
  clock.ms += 999;
  assert.equal(rl.take('alice'), false);
  clock.ms += 1;
  assert.equal(rl.take('alice'), true, 'one token after one second');
  assert.equal(rl.take('alice'), false);
  clock.ms += 60_000;
  for (let i = 0; i < 5; i++) assert.equal(rl.take('alice'), true);
  assert.equal(rl.take('alice'), false, 'refill stops at the burst');
  // A clock that steps back refills nothing.
  clock.ms -= 30_000;
  assert.equal(rl.take('alice'), false);
});

test('A15: allowed() peeks without taking: a caller that charges only failures', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter({ burst: 2, perSecond: 1, now: clock.now });
  for (let i = 0; i < 10; i++) assert.equal(rl.allowed('alice'), true, 'asking takes nothing');
  rl.take('alice');
  assert.equal(rl.allowed('alice'), true);
  rl.take('alice');
  assert.equal(rl.allowed('alice'), false, 'two failures empty a burst of two');
  assert.equal(rl.allowed('bob'), true);
  clock.ms += 1000;
  assert.equal(rl.allowed('alice'), true, 'refilled after a second');
});

test('A15: rate limiter memory is bounded: idle keys are dropped, and at most maxKeys are kept', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter({ burst: 5, perSecond: 1, now: clock.now, maxKeys: 100 });
  for (let i = 0; i < 50; i++) rl.take(`ip${i}`);
  assert.equal(rl.size, 50);
  // A drained key is remembered while the table has room.
  for (let i = 0; i < 5; i++) rl.take('victim');
  for (let i = 0; i < 40; i++) rl.take(`other${i}`);
  assert.equal(rl.take('victim'), false, 'still drained');
  assert.equal(rl.size, 91);
  // Flooding with fresh names never grows past maxKeys.
  for (let i = 0; i < 1000; i++) rl.take(`flood${i}`);
  assert.ok(rl.size <= 100, `size ${rl.size}`);
  // Once everything has refilled, ordinary traffic sweeps the idle entries away.
  clock.ms += 10_000;
  for (let i = 0; i < 60; i++) rl.take('steady');
  assert.equal(rl.size, 1);
});
