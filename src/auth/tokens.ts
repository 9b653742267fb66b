// Signed auth tokens (JWT, jose), as the plan decides: EdDSA (Ed25519) only, one signing key shared
// by every member (`--auth-token-key-file`, PKCS8 PEM, 0600), claims
//   header  alg "EdDSA", typ "JWT", kid = RFC 7638 thumbprint of the public key
//   payload iss "keyward", aud "keyward:<cluster id hex>", sub user, rev auth revision at issue,
//           ten tenant (absent for cluster users), iat, exp = iat + ttl
//
// verify() is the only way a token becomes a principal (never decodeJwt). It refuses a token over
// 4 KiB before parsing anything, pins the algorithm list to EdDSA (so "none" and HS256 signed with
// the public key as an HMAC secret are refused: A14), pins issuer and audience, checks kid,
// requires exp (and iat no older than the TTL), allows 5 s of clock skew, and validates the claim
// types. Every failure is AuthError INVALID_AUTH_TOKEN; jose's reason stays in `cause`, for logs
// only. Whether the token still holds against the auth state (revision rules) is authTokenValid.
import { readFileSync, statSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { AuthConfigError, AuthError } from './errors.js';

export const TOKEN_ISSUER = 'keyward';
export const TOKEN_ALGORITHM = 'EdDSA';
export const MAX_TOKEN_BYTES = 4096;
export const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenClaims {
  user: string;
  tenant?: string;
  /** Auth revision the token was issued at. */
  revision: number;
}

export interface TokenServiceOptions {
  /** `keyward:<cluster id hex>`. */
  audience: string;
  ttlSeconds: number;
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
}

export class TokenService {
  private readonly now: () => number;

  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    /** RFC 7638 thumbprint of the public key: the `kid` of every token issued. */
    readonly kid: string,
    readonly audience: string,
    readonly ttlSeconds: number,
    now: (() => number) | undefined,
  ) {
    this.now = now ?? Date.now;
  }

  /**
   * Loads the signing key. Refuses (AuthConfigError) a key file readable or writable by group or
   * others (mode & 0o077), one that is not an Ed25519 PKCS8 PEM private key, or one unreadable.
   */
  static async load(opts: TokenServiceOptions & { keyFile: string }): Promise<TokenService> {
    let pem: string;
    try {
      const st = statSync(opts.keyFile);
      if (!st.isFile()) throw new AuthConfigError('KEY_UNREADABLE', `auth token key ${opts.keyFile} is not a regular file`);
      if ((st.mode & 0o077) !== 0) {
        const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
        throw new AuthConfigError(
          'KEY_INSECURE_PERMISSIONS',
          `auth token key ${opts.keyFile} has mode ${mode}: it must not be accessible by group or others (chmod 600 it)`,
        );
      }
      pem = readFileSync(opts.keyFile, 'utf8');
    } catch (err) {
      if (err instanceof AuthConfigError) throw err;
      throw new AuthConfigError('KEY_UNREADABLE', `cannot read auth token key ${opts.keyFile}: ${(err as Error).message}`, { cause: err });
    }
    return TokenService.fromPem(pem, opts, opts.keyFile);
  }

  /** As `load`, from PEM text already in memory (no file-mode check). */
  static async fromPem(pem: string, opts: TokenServiceOptions, source = 'PEM'): Promise<TokenService> {
    if (!Number.isSafeInteger(opts.ttlSeconds) || opts.ttlSeconds < 1) throw new TypeError('ttlSeconds must be a positive integer');
    if (opts.audience.length === 0) throw new TypeError('audience must not be empty');
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch (err) {
      throw new AuthConfigError('KEY_INVALID', `auth token key ${source} is not a PEM private key`, { cause: err });
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new AuthConfigError('KEY_INVALID', `auth token key ${source} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; an Ed25519 key is required`);
    }
    const publicKey = createPublicKey(privateKey);
    const kid = await calculateJwkThumbprint(publicKey, 'sha256');
    return new TokenService(privateKey, publicKey, kid, opts.audience, opts.ttlSeconds, opts.now);
  }

  /** A new Ed25519 private key as PKCS8 PEM (write it with mode 0600: load refuses anything looser). */
  static async generateKeyPem(): Promise<string> {
    const { privateKey } = generateKeyPairSync('ed25519');
    return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The public key as SPKI PEM (for tools that check tokens without the signing key). */
  publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  async issue(claims: TokenClaims): Promise<string> {
    if (claims.user.length === 0) throw new TypeError('a token needs a user');
    if (!Number.isSafeInteger(claims.revision) || claims.revision < 0) throw new TypeError('a token needs a non-negative integer revision');
    const iat = Math.floor(this.now() / 1000);
    const payload: JWTPayload = { rev: claims.revision };
    if (claims.tenant !== undefined) payload['ten'] = claims.tenant;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', kid: this.kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(this.audience)
      .setSubject(claims.user)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(this.privateKey);
  }

  /** The claims of a valid token; AuthError INVALID_AUTH_TOKEN for anything else. */
  async verify(token: string): Promise<TokenClaims> {
    // Length in UTF-16 units bounds the UTF-8 size from below; a JWS is ASCII when well formed.
    if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
      throw invalid(new Error(`token longer than ${MAX_TOKEN_BYTES} bytes`));
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          if (header.kid !== this.kid) throw new Error('unknown kid');
          return this.publicKey;
        },
        {
          algorithms: [TOKEN_ALGORITHM],
          issuer: TOKEN_ISSUER,
          audience: this.audience,
          requiredClaims: ['exp', 'iat', 'sub'],
          maxTokenAge: this.ttlSeconds,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(this.now()),
          typ: 'JWT',
        },
      ));
    } catch (err) {
      throw invalid(err);
    }
    const { sub, rev, ten } = payload;
    if (typeof sub !== 'string' || sub.length === 0) throw invalid(new Error('bad sub claim'));
    if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0) throw invalid(new Error('bad rev claim'));
    if (ten !== undefined && (typeof ten !== 'string' || ten.length === 0)) throw invalid(new Error('bad ten claim'));
    const claims: TokenClaims = { user: sub, revision: rev };
    if (typeof ten === 'string') claims.tenant = ten;
    return claims;
  }
}

function invalid(cause: unknown): AuthError {
  return new AuthError('INVALID_AUTH_TOKEN', { cause });
}
