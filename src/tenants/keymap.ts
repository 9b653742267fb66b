// The key translation of one tenant: virtual keys (what the tenant's principals name and see) to
// internal keys (what everything below the edge stores and checks) and back.
//
// Rules (P = tenantPrefix(id), E = prefixEnd(P), the first key after the tenant's keyspace):
//   key              k            → P‖k            (the virtual empty key is P itself)
//   range_end        ""           → ""             (a single key)
//   range_end        "\0"         → E              (etcd's from-key: every virtual key >= k; a
//                                                   client's prefixEnd of an empty or all-0xff
//                                                   prefix is also "\0", so it lands here too)
//   range_end        e (other)    → P‖e            (P‖ preserves byte order, so [P‖k, P‖e) holds
//                                                   exactly the P‖ of the virtual keys in [k, e))
//   internal → virtual:  P‖k → k; any key not starting with P is refused (OUTSIDE_TENANT).
// Every internal range produced is asserted to lie inside [P, E): a bug here fails closed instead
// of reaching another tenant. Worked example for tenant "acme" (P = "/t/acme/", E = "/t/acme0"):
//   ("a", "")     → ("/t/acme/a", "")
//   ("a", "b")    → ("/t/acme/a", "/t/acme/b")
//   ("\0", "\0")  → ("/t/acme/\0", "/t/acme0")      the whole tenant (every non-empty virtual key)
//   ("\xff", "\0")→ ("/t/acme/\xff", "/t/acme0")    a client's prefix("\xff")
import { compareBytes, hasPrefix, prefixEnd } from '../adt/index.js';
import { TenantError } from './errors.js';
import { tenantPrefix } from './prefix.js';

/** A key range in etcd's form: rangeEnd "" = the single key, "\0" = every key >= key. */
export interface KeyRange {
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

const isFromKey = (end: Uint8Array): boolean => end.length === 1 && end[0] === 0;

export class KeyMapper {
  readonly tenant: string;
  /** "/t/<tenant>/". */
  readonly prefix: Uint8Array;
  /** prefixEnd(prefix): the exclusive upper bound of the tenant's internal keys. */
  readonly end: Uint8Array;

  /** Throws TenantError INVALID_TENANT_ID for an invalid id. */
  constructor(tenant: string) {
    this.tenant = tenant;
    this.prefix = tenantPrefix(tenant);
    this.end = prefixEnd(this.prefix);
    // A valid prefix contains bytes below 0xff, so it has a real end (never "\0").
    if (isFromKey(this.end)) throw new Error('tenants: tenant prefix without an end');
  }

  /** Virtual → internal: P‖key (a fresh array). */
  toInternal(key: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.prefix.length + key.length);
    out.set(this.prefix);
    out.set(key, this.prefix.length);
    return out;
  }

  /** Internal → virtual (a fresh array). A key outside the tenant throws OUTSIDE_TENANT. */
  toExternal(internalKey: Uint8Array): Uint8Array {
    if (!hasPrefix(internalKey, this.prefix)) throw new TenantError('OUTSIDE_TENANT');
    return internalKey.slice(this.prefix.length);
  }

  /** True when `internalKey` is one of this tenant's keys. */
  contains(internalKey: Uint8Array): boolean {
    return hasPrefix(internalKey, this.prefix);
  }

  /**
   * True when the internal range (etcd's form) names only keys of this tenant: a single key
   * inside, or [key, rangeEnd) with key inside and rangeEnd <= E. An open end ("\0") never is.
   * The auth layer can hold a tenant principal to this, so a translation bug still fails closed.
   */
  containsRange(key: Uint8Array, rangeEnd: Uint8Array): boolean {
    if (!this.contains(key)) return false;
    if (rangeEnd.length === 0) return true;
    if (isFromKey(rangeEnd)) return false;
    return compareBytes(rangeEnd, this.end) <= 0;
  }

  /** Virtual range → internal range, by the rules above; asserted inside the tenant. */
  rangeToInternal(key: Uint8Array, rangeEnd: Uint8Array): KeyRange {
    const ikey = this.toInternal(key);
    let iend: Uint8Array;
    if (rangeEnd.length === 0) iend = rangeEnd.slice();
    else if (isFromKey(rangeEnd)) iend = this.end.slice();
    else iend = this.toInternal(rangeEnd);
    if (!this.containsRange(ikey, iend)) throw new TenantError('OUTSIDE_TENANT');
    return { key: ikey, rangeEnd: iend };
  }
}
