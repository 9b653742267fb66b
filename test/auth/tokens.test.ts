import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { AuthConfigError, authTokenValid, isAuthError, TokenService, type TokenClaims } from '../../src/auth/index.js';
import { withTmpDir } from '../harness/tmpdir.js';
import { AuthFixture } from './helpers.js';

// Tokens (GUARANTEES A13, A14): what verify accepts, every forgery it refuses, and how a refusal
// looks (INVALID_AUTH_TOKEN, jose's reason kept as the cause only).

const AUD = 'keyward:1a2b3c';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

class Clock {
  ms = T0;
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

interface Setup {
  clock: Clock;
  svc: TokenService;
  key: KeyObject;
  pem: string;
}

async function setup(ttlSeconds = 300): Promise<Setup> {
  const clock = new Clock();
  const pem = await TokenService.generateKeyPem();
  const svc = await TokenService.fromPem(pem, { audience: AUD, ttlSeconds, now: clock.now });
  return { clock, svc, key: createPrivateKey(pem), pem };
}

/** A token signed with the service's own key, with any header and claims the test wants. */
function forge(s: Setup, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const iat = Math.floor(s.clock.ms / 1000);
  return new SignJWT({ iss: 'keyward', aud: AUD, sub: 'alice', rev: 3, iat, exp: iat + 300, ...payload })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: s.svc.kid, ...header })
    .sign(s.key);
}

async function rejected(svc: TokenService, token: string, why: string): Promise<void> {
  await assert.rejects(
    svc.verify(token),
    (e: unknown) => {
      assert.ok(isAuthError(e, 'INVALID_AUTH_TOKEN'), `${why}: ${String(e)}`);
      assert.equal(e.message, 'auth: invalid auth token', 'no library text in the message');
      assert.ok(e.cause !== undefined, 'the reason is kept as the cause');
      return true;
    },
    why,
  );
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

test('issue/verify: the claims round-trip, with and without a tenant; header and payload as the plan says', async () => {
  const s = await setup();
  const claims: TokenClaims = { user: 'alice', revision: 7 };
  const tok = await s.svc.issue(claims);
  assert.deepEqual(await s.svc.verify(tok), claims);
  const withTenant = await s.svc.issue({ user: 'bob', tenant: 'A', revision: 0 });
  assert.deepEqual(await s.svc.verify(withTenant), { user: 'bob', tenant: 'A', revision: 0 });
  const [h, p] = tok.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'EdDSA', typ: 'JWT', kid: s.svc.kid });
  const iat = T0 / 1000;
  assert.deepEqual(JSON.parse(Buffer.from(p!, 'base64url').toString()), { rev: 7, iss: 'keyward', aud: AUD, sub: 'alice', iat, exp: iat + 300 });
});

test('kid is the RFC 7638 thumbprint of the public key', async () => {
  const s = await setup();
  const jwk = createPublicKey(s.key).export({ format: 'jwk' });
  // RFC 7638: the required members in lexicographic order, no whitespace, SHA-256, base64url.
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  assert.equal(s.svc.kid, createHash('sha256').update(canonical).digest('base64url'));
});

test('A14: expired tokens are refused, within the 5 s tolerance they are not', async () => {
  const s = await setup(60);
  const tok = await s.svc.issue({ user: 'alice', revision: 1 });
  s.clock.advance(64);
  assert.deepEqual(await s.svc.verify(tok), { user: 'alice', revision: 1 });
  s.clock.advance(2);
  await rejected(s.svc, tok, 'expired');
});

test('A14: nbf in the future is refused beyond the tolerance; a token without exp is refused', async () => {
  const s = await setup();
  const now = Math.floor(s.clock.ms / 1000);
  await rejected(s.svc, await forge(s, { nbf: now + 60 }), 'nbf in the future');
  assert.equal((await s.svc.verify(await forge(s, { nbf: now + 3 }))).user, 'alice', 'nbf within tolerance');
  await rejected(s.svc, await forge(s, { exp: undefined }), 'no exp');
  // exp far ahead but issued longer ago than the TTL: too old.
  await rejected(s.svc, await forge(s, { iat: now - 3600, exp: now + 3600 }), 'iat older than the TTL');
  await rejected(s.svc, await forge(s, { iat: now + 600, exp: now + 900 }), 'iat in the future');
});

test('A14: alg none, and HS256 with the public key as the HMAC secret, are refused', async () => {
  const s = await setup();
  const iat = Math.floor(s.clock.ms / 1000);
  const claims = { iss: 'keyward', aud: AUD, sub: 'root', rev: 99, iat, exp: iat + 300 };
  await rejected(s.svc, new UnsecuredJWT(claims).encode(), 'alg none');
  const noneWithKid = `${b64url(JSON.stringify({ alg: 'none', kid: s.svc.kid }))}.${b64url(JSON.stringify(claims))}.`;
  await rejected(s.svc, noneWithKid, 'alg none with our kid');
  for (const secret of [Buffer.from(s.svc.publicKeyPem()), createPublicKey(s.key).export({ format: 'der', type: 'spki' })]) {
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: s.svc.kid }).sign(new Uint8Array(secret));
    await rejected(s.svc, hs, 'HS256 keyed with the public key');
  }
});

test('A14: wrong or missing kid, another key, a tampered payload and a stripped signature are refused', async () => {
  const s = await setup();
  await rejected(s.svc, await forge(s, {}, { kid: 'not-our-key' }), 'wrong kid');
  await rejected(s.svc, await forge(s, {}, { kid: undefined }), 'no kid');
  // Another Ed25519 key, claiming our kid.
  const other = generateKeyPairSync('ed25519').privateKey;
  const iat = Math.floor(s.clock.ms / 1000);
  const foreign = await new SignJWT({ iss: 'keyward', aud: AUD, sub: 'alice', rev: 1, iat, exp: iat + 300 })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: s.svc.kid })
    .sign(other);
  await rejected(s.svc, foreign, 'signed by another key');
  const otherSvc = await TokenService.fromPem(await TokenService.generateKeyPem(), { audience: AUD, ttlSeconds: 300, now: s.clock.now });
  await rejected(s.svc, await otherSvc.issue({ user: 'alice', revision: 1 }), "another service's token");

  const good = await s.svc.issue({ user: 'alice', revision: 1 });
  const [h, p, sig] = good.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  await rejected(s.svc, `${h}.${b64url(JSON.stringify({ ...payload, sub: 'root' }))}.${sig}`, 'tampered sub');
  await rejected(s.svc, `${h}.${b64url(JSON.stringify({ ...payload, rev: 1e6 }))}.${sig}`, 'tampered rev');
  await rejected(s.svc, `${h}.${p}.`, 'stripped signature');
  await rejected(s.svc, `${h}.${p}`, 'two segments');
  await rejected(s.svc, 'kAjWFwrGFFqupQat.55', 'an etcd simple token');
  await rejected(s.svc, '', 'empty');
  assert.deepEqual(await s.svc.verify(good), { user: 'alice', revision: 1 }, 'the untampered token is fine');
});

test('A14: wrong iss or aud, bad claim types and oversized tokens are refused', async () => {
  const s = await setup();
  await rejected(s.svc, await forge(s, { iss: 'etcd' }), 'wrong iss');
  await rejected(s.svc, await forge(s, { aud: 'keyward:ffff' }), 'wrong aud');
  const otherCluster = await TokenService.fromPem(s.pem, { audience: 'keyward:ffff', ttlSeconds: 300, now: s.clock.now });
  await rejected(otherCluster, await s.svc.issue({ user: 'alice', revision: 1 }), "another cluster's audience, same key");
  await rejected(s.svc, await forge(s, { rev: '3' }), 'rev not a number');
  await rejected(s.svc, await forge(s, { rev: -1 }), 'negative rev');
  await rejected(s.svc, await forge(s, { rev: 1.5 }), 'fractional rev');
  await rejected(s.svc, await forge(s, { sub: '' }), 'empty sub');
  await rejected(s.svc, await forge(s, { ten: 7 }), 'tenant not a string');
  await rejected(s.svc, await forge(s, {}, { typ: 'at+jwt' }), 'another token type');
  // Validly signed but over 4 KiB: refused before parsing.
  const big = await forge(s, { ten: 'x'.repeat(4000) });
  assert.ok(big.length > 4096);
  await assert.rejects(s.svc.verify(big), (e: unknown) => isAuthError(e, 'INVALID_AUTH_TOKEN') && /longer than 4096/.test(String((e.cause as Error).message)));
  const justFits = await forge(s, { ten: 'x'.repeat(2500) });
  assert.ok(justFits.length <= 4096);
  assert.equal((await s.svc.verify(justFits)).tenant, 'x'.repeat(2500));
});

test('load: refuses a key file readable by group or others, a non-Ed25519 key, garbage and a missing file', () =>
  withTmpDir(async (dir) => {
    const file = dir.sub('token.key');
    writeFileSync(file, await TokenService.generateKeyPem(), { mode: 0o600 });
    const opts = { keyFile: file, audience: AUD, ttlSeconds: 300 };
    const svc = await TokenService.load(opts);
    assert.deepEqual(await svc.verify(await svc.issue({ user: 'u', revision: 2 })), { user: 'u', revision: 2 });
    for (const mode of [0o640, 0o604, 0o660]) {
      chmodSync(file, mode);
      await assert.rejects(TokenService.load(opts), (e: unknown) => e instanceof AuthConfigError && e.code === 'KEY_INSECURE_PERMISSIONS' && /chmod 600/.test(e.message));
    }
    chmodSync(file, 0o400);
    await TokenService.load(opts);
    const rsa = dir.sub('rsa.key');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await assert.rejects(TokenService.load({ ...opts, keyFile: rsa }), (e: unknown) => e instanceof AuthConfigError && e.code === 'KEY_INVALID' && /Ed25519/.test(e.message));
    const junk = dir.sub('junk.key');
    writeFileSync(junk, 'not a key', { mode: 0o600 });
    await assert.rejects(TokenService.load({ ...opts, keyFile: junk }), (e: unknown) => e instanceof AuthConfigError && e.code === 'KEY_INVALID');
    await assert.rejects(TokenService.load({ ...opts, keyFile: dir.sub('missing') }), (e: unknown) => e instanceof AuthConfigError && e.code === 'KEY_UNREADABLE');
  }));

test('A13: a verified token is still refused once the auth state moved past it (authTokenValid)', async () => {
  const s = await setup();
  const f = new AuthFixture();
  try {
    f.must({ type: 'bootstrap' }, { type: 'userAdd', name: 'alice', passwordHash: '$h', noPassword: false });
    const tok = await s.svc.issue({ user: 'alice', revision: f.table.revision() });
    assert.equal(authTokenValid(f.table, await s.svc.verify(tok)), true);
    f.must({ type: 'userChangePassword', name: 'alice', passwordHash: '$h2' });
    const claims = await s.svc.verify(tok);
    assert.equal(authTokenValid(f.table, claims), false, 'signature still good, credentials moved');
    const fresh = await s.svc.issue({ user: 'alice', revision: f.table.revision() });
    assert.equal(authTokenValid(f.table, await s.svc.verify(fresh)), true);
  } finally {
    await f.close();
  }
});
