// Users and roles of tenants in the one replicated auth table (docs/tenancy-plan.md, TS2).
//
// A user or role belongs to the cluster or to one tenant, and names are per scope: "alice" of
// acme and "alice" of globex are different users. Both live in auth.users / auth.roles under an
// INTERNAL name:
//
//   cluster   name                      e.g. "alice", "root"
//   tenant T  T ‖ U+0000 ‖ name          e.g. "acme\u0000alice", "acme\u0000root" (T's administrator role)
//
// Why this cannot collide: a tenant id is [a-z0-9][a-z0-9-]{0,62} (no NUL), and no name a client
// gives (either scope) may contain a control character (U+0000–U+001F, U+007F), so every internal
// name with a NUL is a tenant's and its first NUL ends the tenant id. Names are validated at the
// edge (AuthError INVALID_AUTH_NAME, 400/3) on every call that names a user or role, lookups
// included, so a cluster call can never reach a tenant's record by spelling its internal name.
//
// Cluster USER names additionally may not contain "/": authenticate names a tenant's user as
// "<tenant>/<name>" (etcd clients send only name and password), and a cluster user called
// "acme/alice" would make that ambiguous. Tenant user names may contain "/" (the first "/" of a
// login name ends the tenant id, which has none). Role names may contain "/" in both scopes.
//
// Sorting: internal names sort by bytes, so one tenant's names are the contiguous range
// [T‖U+0000, T‖U+0001) of the table and list by a range scan.
import { validTenantId } from '../tenants/index.js';

export const TENANT_SEPARATOR = '\u0000';
export const ROOT_NAME = 'root';

const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** A name a client may give for a user or role of either scope (not empty: callers check that). */
export function validScopedName(name: string): boolean {
  return !CONTROL_RE.test(name);
}

/** A name a cluster user may have (also no "/"). */
export function validClusterUserName(name: string): boolean {
  return validScopedName(name) && !name.includes('/');
}

/**
 * The internal name of `name` in `tenant`'s scope (undefined = the cluster's), or undefined when
 * no record can have it (a control character in the name, an invalid tenant id).
 */
export function internalName(tenant: string | undefined, name: string): string | undefined {
  if (!validScopedName(name)) return undefined;
  if (tenant === undefined) return name;
  if (!validTenantId(tenant)) return undefined;
  return `${tenant}${TENANT_SEPARATOR}${name}`;
}

/** The scope and relative name of an internal name. */
export function splitInternalName(internal: string): { tenant: string | undefined; name: string } {
  const i = internal.indexOf(TENANT_SEPARATOR);
  return i < 0 ? { tenant: undefined, name: internal } : { tenant: internal.slice(0, i), name: internal.slice(i + 1) };
}

/** The tenant an internal name belongs to (undefined: the cluster). */
export function tenantOfName(internal: string): string | undefined {
  const i = internal.indexOf(TENANT_SEPARATOR);
  return i < 0 ? undefined : internal.slice(0, i);
}

/** The administrator role of a scope: "root" or "<tenant>\0root". */
export function rootRoleOf(tenant: string | undefined): string {
  return tenant === undefined ? ROOT_NAME : `${tenant}${TENANT_SEPARATOR}${ROOT_NAME}`;
}

/**
 * A login name as authenticate receives it: "<tenant>/<name>" names tenant <tenant>'s user
 * <name> (split at the first "/"), anything else a cluster user. undefined when it names nobody
 * that could exist.
 */
export function parseLoginName(login: string): { tenant: string | undefined; name: string } | undefined {
  const i = login.indexOf('/');
  if (i < 0) return validScopedName(login) ? { tenant: undefined, name: login } : undefined;
  const tenant = login.slice(0, i);
  const name = login.slice(i + 1);
  if (!validTenantId(tenant) || name.length === 0 || !validScopedName(name)) return undefined;
  return { tenant, name };
}
