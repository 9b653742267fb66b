// Quotas and usage. Pure: the table (table.ts) stores both, the server's apply path feeds deltas.
//
// Storage usage of tenant T is a function of the replicated key space alone, so every member
// computes the same number and a quota refusal at apply is deterministic:
//   keys   = number of live keys under tenantPrefix(T)
//   bytes  = sum over those keys of (virtual key length + value length); the virtual key is what
//            the tenant named, so the prefix (which the tenant cannot choose or shorten) is not
//            charged, and a tenant's bytes do not depend on the length of its id
//   leases = number of live leases the tenant owns (granted by one of its principals)
// Keys are accounted by where they live, whoever wrote them (a cluster administrator's write under
// "/t/T/" counts for T), so usage never depends on who proposed a write.
//
// Boundary rule (checkQuota): a limit L > 0 admits usage up to L inclusive. A change that makes
// keys == maxKeys is allowed; one more is refused (QUOTA_EXCEEDED naming the limit). Only
// dimensions a change GROWS are checked: deletes, shrinking overwrites and anything else that
// lowers usage always pass, even when usage is already above a limit an administrator lowered.
// 0 means unlimited.
import type { TenantQuotasWire } from '../wire/index.js';
import { TenantError, type TenantLimit } from './errors.js';

// The six quotas are the API's own shape (src/wire): one definition for the wire and the table.
export type TenantQuotas = TenantQuotasWire;

/** Every quota 0: no limit. */
export const UNLIMITED_QUOTAS: Readonly<TenantQuotas> = Object.freeze({
  maxKeys: 0,
  maxBytes: 0,
  maxLeases: 0,
  maxWatchers: 0,
  maxStreams: 0,
  maxRequestsPerSecond: 0,
});

export const QUOTA_FIELDS: readonly (keyof TenantQuotas)[] = ['maxKeys', 'maxBytes', 'maxLeases', 'maxWatchers', 'maxStreams', 'maxRequestsPerSecond'];

/** A copy with exactly the six fields, in a fixed order (records encode deterministically). */
export function copyQuotas(q: TenantQuotas): TenantQuotas {
  return {
    maxKeys: q.maxKeys,
    maxBytes: q.maxBytes,
    maxLeases: q.maxLeases,
    maxWatchers: q.maxWatchers,
    maxStreams: q.maxStreams,
    maxRequestsPerSecond: q.maxRequestsPerSecond,
  };
}

export interface TenantUsage {
  keys: number;
  bytes: number;
  leases: number;
}

/** A signed change of usage. */
export type UsageDelta = TenantUsage;

export const ZERO_USAGE: Readonly<TenantUsage> = Object.freeze({ keys: 0, bytes: 0, leases: 0 });

/** INVALID_QUOTA unless every field is a non-negative safe integer (and no field is missing). */
export function validateQuotas(q: unknown): TenantError | undefined {
  if (typeof q !== 'object' || q === null) return new TenantError('INVALID_QUOTA');
  const o = q as Record<string, unknown>;
  for (const f of QUOTA_FIELDS) {
    const v = o[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return new TenantError('INVALID_QUOTA');
  }
  return undefined;
}

/**
 * The usage change of one key write, from the value lengths before and after (undefined = the key
 * does not exist on that side): a create adds a key and its bytes, a delete removes them, an
 * overwrite changes bytes by the value's size change. `virtualKeyLength` is the key's length
 * without the tenant prefix.
 */
export function keyDelta(virtualKeyLength: number, before: number | undefined, after: number | undefined): UsageDelta {
  if (before === undefined && after === undefined) return { ...ZERO_USAGE };
  if (before === undefined) return { keys: 1, bytes: virtualKeyLength + after!, leases: 0 };
  if (after === undefined) return { keys: -1, bytes: -(virtualKeyLength + before), leases: 0 };
  return { keys: 0, bytes: after - before, leases: 0 };
}

export function addUsage(a: TenantUsage, b: UsageDelta): TenantUsage {
  return { keys: a.keys + b.keys, bytes: a.bytes + b.bytes, leases: a.leases + b.leases };
}

const STORAGE_LIMITS: readonly [keyof TenantUsage, TenantLimit][] = [
  ['keys', 'maxKeys'],
  ['bytes', 'maxBytes'],
  ['leases', 'maxLeases'],
];

/**
 * The refusal of `delta` on top of `usage` under `quotas`, or undefined when it is admitted (see
 * the boundary rule above). Checked in the order keys, bytes, leases; the first exceeded limit is
 * named.
 */
/**
 * Whether `delta` grows a dimension that `quotas` limit: only then can checkQuota refuse it, and
 * only then need a caller read the usage (a hot path: every write into a tenant).
 */
export function quotaApplies(quotas: TenantQuotas, delta: UsageDelta): boolean {
  for (const [dim, limit] of STORAGE_LIMITS) if (quotas[limit] !== 0 && delta[dim] > 0) return true;
  return false;
}

export function checkQuota(quotas: TenantQuotas, usage: TenantUsage, delta: UsageDelta): TenantError | undefined {
  for (const [dim, limit] of STORAGE_LIMITS) {
    const max = quotas[limit];
    if (max === 0 || delta[dim] <= 0) continue;
    if (usage[dim] + delta[dim] > max) return new TenantError('QUOTA_EXCEEDED', { limit, value: max });
  }
  return undefined;
}
