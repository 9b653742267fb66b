// Token buckets per key (a user name, a client address) for the authenticate rate limit (A15;
// plan: burst 5, refill 1 per second). Time is injected (`now`, milliseconds), so tests drive it.
//
// Memory is bounded: a bucket that has refilled completely is the same as no bucket, so idle
// keys are dropped as they are met (the two oldest entries are looked at on every take; the map is
// kept in least-recently-used order), and when more than `maxKeys` keys are active at once the
// least recently used one is dropped. That last eviction forgets a partly drained bucket, which
// only an attacker spreading attempts over more than `maxKeys` names or addresses can cause; each
// of those keys is still limited.
export interface RateLimiterOptions {
  /** Attempts allowed at once (bucket size). */
  burst: number;
  /** Refill rate in attempts per second. */
  perSecond: number;
  /** Milliseconds; Date.now in production. */
  now: () => number;
  /** Most keys remembered at once. Default 10 000. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly burst: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: RateLimiterOptions) {
    if (!(opts.burst >= 1) || !(opts.perSecond > 0)) throw new TypeError('RateLimiter needs burst >= 1 and perSecond > 0');
    this.burst = opts.burst;
    this.perMs = opts.perSecond / 1000;
    this.now = opts.now;
    this.maxKeys = opts.maxKeys ?? 10_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new TypeError('maxKeys must be a positive integer');
  }

  /** Takes one attempt for `key`: true when allowed, false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.now();
    this.dropIdle(now, 2);
    const b = this.buckets.get(key);
    const tokens = b === undefined ? this.burst : this.refilled(b, now);
    if (b !== undefined) this.buckets.delete(key); // re-inserted below: most recently used last
    else if (this.buckets.size >= this.maxKeys) this.dropOldest();
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return false;
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return true;
  }

  /**
   * True when `key` could take an attempt now, without taking it: callers that charge only
   * failures ask first and `take` after a failure.
   */
  allowed(key: string): boolean {
    const b = this.buckets.get(key);
    return b === undefined || this.refilled(b, this.now()) >= 1;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(b: Bucket, now: number): number {
    // A clock that went backwards refills nothing (and never drains).
    return Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * this.perMs);
  }

  private dropIdle(now: number, max: number): void {
    let n = 0;
    for (const [key, b] of this.buckets) {
      if (n++ >= max || this.refilled(b, now) < this.burst) return;
      this.buckets.delete(key);
    }
  }

  private dropOldest(): void {
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key);
      return;
    }
  }
}
