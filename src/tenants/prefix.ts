// Tenant ids and the internal prefix of each tenant's keyspace.
//
// The keyspace of tenant T is every internal key starting with the bytes of "/t/T/". An id is
// [a-z0-9][a-z0-9-]{0,62} and so never contains "/": the prefixes of two different tenants are
// disjoint and neither is a prefix of the other ("/t/acme/" vs "/t/acme2/"; "/t/acme" without the
// slash would cover "/t/acme2/…", which is why the trailing slash is part of the prefix).
//
//   tenantPrefix("acme")    = "/t/acme/"
//   tenantKeyRange("acme")  = ["/t/acme/", "/t/acme0")   ("0" = "/" + 1)
//   tenantOfKey("/t/acme/x") = "acme";  tenantOfKey("/t/acme") = undefined;  tenantOfKey("/x") = undefined
import { hasPrefix, prefixEnd } from '../adt/index.js';
import { TenantError } from './errors.js';

export const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const MAX_TENANT_ID_LENGTH = 63;

/** The bytes every tenant prefix starts with: "/t/". */
export const TENANTS_ROOT: Uint8Array = new TextEncoder().encode('/t/');

const SLASH = 0x2f;
const te = new TextEncoder();

export function validTenantId(id: unknown): id is string {
  return typeof id === 'string' && TENANT_ID_RE.test(id);
}

/** The internal prefix of tenant `id`: the bytes of "/t/<id>/". Throws INVALID_TENANT_ID. */
export function tenantPrefix(id: string): Uint8Array {
  if (!validTenantId(id)) throw new TenantError('INVALID_TENANT_ID');
  return te.encode(`/t/${id}/`);
}

/**
 * The internal range holding exactly tenant `id`'s keys, [key, rangeEnd) in etcd's form (what a
 * tenant deletion deletes at one revision, and what the auth layer holds a tenant principal to).
 */
export function tenantKeyRange(id: string): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = tenantPrefix(id);
  return { key, rangeEnd: prefixEnd(key) };
}

/**
 * The tenant whose keyspace holds `internalKey`, or undefined. Usage is accounted by where a key
 * lives, whoever wrote it, so a key a cluster administrator wrote under "/t/acme/" counts for acme.
 */
export function tenantOfKey(internalKey: Uint8Array): string | undefined {
  if (!hasPrefix(internalKey, TENANTS_ROOT)) return undefined;
  const start = TENANTS_ROOT.length;
  const limit = Math.min(internalKey.length, start + MAX_TENANT_ID_LENGTH + 1);
  // TENANT_ID_RE checked byte by byte while the id is read (this runs for every key an entry
  // writes): a byte no id may hold ends the search, as the check after the slash would refuse it.
  let id = '';
  for (let i = start; i < limit; i++) {
    const c = internalKey[i]!;
    if (c === SLASH) return i > start ? id : undefined;
    const alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && (c !== 0x2d || i === start)) return undefined;
    id += String.fromCharCode(c);
  }
  return undefined;
}
