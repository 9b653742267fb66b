// Password hashing: argon2id with pinned parameters, behind a bound on concurrent work.
//
// Parameters are OWASP's argon2id minimum (m = 19456 KiB, t = 2, p = 1), pinned here rather than
// taken from the library's defaults so an upgrade cannot change them. Verification uses the
// parameters encoded in the stored hash (so a later change of these constants keeps old hashes
// working) and argon2's own constant-time comparison.
//
// CPU bound (A15): at most `maxConcurrent` hash/verify operations run at once (default 2); up to
// `maxQueued` more wait (default 64); beyond that a request is refused at once with
// TOO_MANY_AUTH_REQUESTS (429/8) instead of queueing without bound.
//
// Unknown users (A15: same error, same work): verify(undefined, pw) verifies against a dummy hash
// made once with the same parameters and answers false, so an unknown name costs what a wrong
// password costs and the two cannot be told apart by timing.
import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';
import { AuthError } from './errors.js';

export const ARGON2_OPTIONS = Object.freeze({ type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });

export interface PasswordHasherOptions {
  /** Operations running at once. Default 2. */
  maxConcurrent?: number;
  /** Operations waiting for a slot; more are refused with TOO_MANY_AUTH_REQUESTS. Default 64. */
  maxQueued?: number;
}

export class PasswordHasher {
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private dummy: Promise<string> | undefined;

  constructor(opts: PasswordHasherOptions = {}) {
    this.maxConcurrent = opts.maxConcurrent ?? 2;
    this.maxQueued = opts.maxQueued ?? 64;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) throw new TypeError('maxConcurrent must be a positive integer');
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0) throw new TypeError('maxQueued must be a non-negative integer');
  }

  /** Operations running and waiting now (for metrics and tests). */
  load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  /** The encoded argon2id hash (PHC string, salt included) of `password`. */
  hash(password: string): Promise<string> {
    return this.run(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /**
   * Whether `password` matches `hash`. An undefined hash (unknown user, or a user without a
   * password) does the same work against the dummy hash and answers false. A hash argon2 cannot
   * parse answers false too (fail closed).
   */
  verify(hash: string | undefined, password: string): Promise<boolean> {
    return this.run(async () => {
      if (hash === undefined) {
        await safeVerify(await this.dummyHash(), password);
        return false;
      }
      return safeVerify(hash, password);
    });
  }

  private dummyHash(): Promise<string> {
    // A random secret nobody knows: no password can match it.
    this.dummy ??= argon2.hash(randomBytes(32).toString('base64'), ARGON2_OPTIONS);
    return this.dummy;
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) throw new AuthError('TOO_MANY_AUTH_REQUESTS');
      // The slot is handed over by release(): `running` already counts this operation then.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.running--;
    }
  }
}

async function safeVerify(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
