// Edge limits of a tenant: requests per second (a token bucket) and concurrent streams and watchers
// (counters). They are enforced by each member for the requests it serves, before anything is
// proposed, and are not replicated: a tenant limited to N streams may hold N on each member.
// (Storage quotas, which must be exact cluster-wide, are checked at apply instead: quota.ts.)
// Refusals are TenantError TOO_MANY_REQUESTS naming the limit; the api answers 429.
//
// The limit is passed with each call, read by the caller from the tenant's current record, so a
// quota change applies at the next request without telling the limiter. 0 = unlimited.
import { TenantError } from './errors.js';

export interface TenantRateLimiterOptions {
  /** Milliseconds; Date.now in production, a test clock in tests. */
  now: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per tenant: it holds at most `perSecond` tokens (one second's worth, at least
 * 1) and refills at `perSecond` per second; a request takes one. A tenant that sends exactly its
 * rate is never refused; one that bursts gets one second's worth at once, then the rate.
 * Memory: one bucket per tenant that sent a request; `forget` on tenant deletion.
 */
export class TenantRateLimiter {
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: TenantRateLimiterOptions) {
    this.now = opts.now;
  }

  /** Takes one request for tenant `id` under limit `perSecond`: undefined when allowed. */
  take(id: string, perSecond: number): TenantError | undefined {
    if (perSecond === 0) {
      this.buckets.delete(id);
      return undefined;
    }
    if (!Number.isSafeInteger(perSecond) || perSecond < 0) throw new TypeError('tenants: perSecond must be a non-negative integer');
    const now = this.now();
    const b = this.buckets.get(id);
    // A lowered limit caps the saved tokens at once; a clock that went backwards refills nothing.
    const tokens = b === undefined ? perSecond : Math.min(perSecond, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000);
    if (tokens < 1) {
      this.buckets.set(id, { tokens, at: now });
      return new TenantError('TOO_MANY_REQUESTS', { limit: 'maxRequestsPerSecond', value: perSecond });
    }
    this.buckets.set(id, { tokens: tokens - 1, at: now });
    return undefined;
  }

  forget(id: string): void {
    this.buckets.delete(id);
  }

  /** Tenants with a bucket now. */
  get size(): number {
    return this.buckets.size;
  }
}

export type ConcurrencyKind = 'streams' | 'watchers';

const KIND_LIMIT = { streams: 'maxStreams', watchers: 'maxWatchers' } as const;

export type Acquired = { ok: true; release: () => void } | { ok: false; error: TenantError };

/**
 * Counts a tenant's open streams and watchers on this member. `acquire` admits one more when the
 * count is below the limit (so the count reaches the limit and no further) and returns an
 * idempotent release: releasing twice, or after `forget`, never frees someone else's slot.
 */
export class TenantConcurrency {
  private readonly counts = new Map<string, number>();
  private readonly generation = new Map<string, number>();

  acquire(id: string, kind: ConcurrencyKind, limit: number): Acquired {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError('tenants: limit must be a non-negative integer');
    const key = `${kind}:${id}`;
    const n = this.counts.get(key) ?? 0;
    if (limit !== 0 && n >= limit) return { ok: false, error: new TenantError('TOO_MANY_REQUESTS', { limit: KIND_LIMIT[kind], value: limit }) };
    this.counts.set(key, n + 1);
    const gen = this.generation.get(id) ?? 0;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        if ((this.generation.get(id) ?? 0) !== gen) return; // forgotten since: the count is gone
        const m = (this.counts.get(key) ?? 0) - 1;
        if (m > 0) this.counts.set(key, m);
        else this.counts.delete(key);
      },
    };
  }

  /** Open streams or watchers of tenant `id` on this member (usage shown to the tenant). */
  count(id: string, kind: ConcurrencyKind): number {
    return this.counts.get(`${kind}:${id}`) ?? 0;
  }

  /** Drops tenant `id`'s counts (deleted tenant); releases of earlier acquisitions do nothing. */
  forget(id: string): void {
    this.counts.delete(`streams:${id}`);
    this.counts.delete(`watchers:${id}`);
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }
}
