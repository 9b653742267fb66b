// Permission checks with etcd's semantics (API.md section 10; etcd server/auth/range_perm_cache.go):
//
//   R1 A permission or a request names [key, rangeEnd): the single key when rangeEnd is empty,
//      every key >= key when rangeEnd is "\0", nothing when rangeEnd <= key (adt keyRangeInterval).
//   R2 A user's READ set is the union of the READ and READWRITE perms of all its roles, its WRITE
//      set the union of WRITE and READWRITE; overlapping or touching intervals merge.
//   R3 A request is allowed when ONE merged interval covers the whole requested interval (so the
//      union of roles counts, and the exclusive end itself need not be covered).
//   R4 Role root covers everything. An unknown user has no perms.
//   R5 A request naming nothing (rangeEnd <= key) is denied to non-admins: it would read nothing,
//      so the denial costs nothing, and "allowed" would be a rule with no etcd test behind it.
//   T1 Tenant users (internal name "<tenant>\0<name>", names.ts) are fenced: every range they
//      ask for must lie inside the tenant's keyspace (KeyMapper.containsRange: [/t/T/, /t/T0),
//      never open-ended), whatever their roles say. The api translates their keys into that
//      range before anything is checked, so the fence only ever refuses a translation bug or a
//      hand-crafted internal range: it fails closed.
//   T2 A tenant user holding "<tenant>\0root" is the tenant's administrator: it covers the whole
//      tenant keyspace (R4 within T1) and passes checkTenantAdmin(tenant), never checkAdmin, which
//      stays the cluster's root alone. Only roles of the user's own scope count (a role of
//      another scope cannot be granted, ops.ts; skipped here too).
//
// Worked example: roles [app/, app0) READWRITE and [app0, b) READ merge (R2) into READ
// [app/, b) and WRITE [app/, app0); range [app/a, b) is allowed (R3), [app/a, b\0) is not (it
// reaches past b), nor is put b (b is the exclusive end).
//
// The merged sets are sorted, disjoint and non-touching, so coverage is a binary search for the
// last interval starting at or before the request's start (O(log n)); that suits a covering query
// better than adt's IntervalTree, which answers stabbing/overlap queries over unmerged intervals.
//
// The checks are pure permission decisions: they do not look at enabled(). The caller decides
// that auth is on before checking (auth disabled ⇒ everything allowed, etcd) and so fails closed if
// it forgets.
import { compareBytes, compareEnds, keyRangeInterval, type Interval } from '../adt/index.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from '../wire/index.js';
import { AuthError } from './errors.js';
import { KeyMapper, validTenantId } from '../tenants/index.js';
import { internalName, rootRoleOf, tenantOfName } from './names.js';
import { ROOT, type AuthTable } from './table.js';

interface UserPerms {
  /** The cluster's root role (R4). */
  admin: boolean;
  /** Set for a tenant user: its tenant, whether it administers it (T2), and its fence (T1). */
  tenant?: { id: string; admin: boolean; fence: (key: Uint8Array, rangeEnd: Uint8Array) => boolean };
  read: Interval[];
  write: Interval[];
}

/** Merges intervals into a sorted, disjoint, non-touching list (R2). */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => compareBytes(a.start, b.start));
  const out: Interval[] = [];
  for (const ivl of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (last.end === null || compareBytes(ivl.start, last.end) <= 0)) {
      if (compareEnds(ivl.end, last.end) > 0) out[out.length - 1] = { start: last.start, end: ivl.end };
    } else {
      out.push(ivl);
    }
  }
  return out;
}

/** R3 over a merged list. */
export function coversInterval(merged: readonly Interval[], want: Interval): boolean {
  let lo = 0;
  let hi = merged.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(merged[mid]!.start, want.start) <= 0) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found >= 0 && compareEnds(merged[found]!.end, want.end) >= 0;
}

const EMPTY_PERMS: UserPerms = { admin: false, read: [], write: [] };
const NONE = new Uint8Array(0);

function require(ok: boolean): void {
  if (!ok) throw new AuthError('PERMISSION_DENIED');
}

function can(p: UserPerms, kind: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (p.tenant !== undefined && !p.tenant.fence(key, rangeEnd)) return false; // T1
  if (p.admin) return true; // R4
  const want = keyRangeInterval(key, rangeEnd);
  if (want === undefined) return false; // R5
  return coversInterval(p[kind], want);
}

function checkRangeWith(p: UserPerms, req: RangeRequest): void {
  require(can(p, 'read', req.key, req.rangeEnd));
}

function checkPutWith(p: UserPerms, req: PutRequest): void {
  require(can(p, 'write', req.key, NONE) && (!req.prevKv || can(p, 'read', req.key, NONE)));
}

function checkDeleteWith(p: UserPerms, req: DeleteRangeRequest): void {
  require(can(p, 'write', req.key, req.rangeEnd) && (!req.prevKv || can(p, 'read', req.key, req.rangeEnd)));
}

export class AuthChecker {
  private cache = new Map<string, UserPerms>();
  private cacheRevision = -1;
  private cacheEpoch = -1;

  constructor(private readonly table: AuthTable) {}

  revision(): number {
    return this.table.revision();
  }

  enabled(): boolean {
    return this.table.enabled();
  }

  /** Drops every cached set (after a snapshot restore replaced the tables underneath). */
  invalidate(): void {
    this.cache.clear();
    this.cacheRevision = -1;
  }

  isAdmin(user: string): boolean {
    return this.perms(user).admin;
  }

  canRead(user: string, key: Uint8Array, rangeEnd: Uint8Array): boolean {
    return can(this.perms(user), 'read', key, rangeEnd);
  }

  canWrite(user: string, key: Uint8Array, rangeEnd: Uint8Array): boolean {
    return can(this.perms(user), 'write', key, rangeEnd);
  }

  checkRange(user: string, req: RangeRequest): void {
    checkRangeWith(this.perms(user), req);
  }

  /** WRITE on the key; with prev_kv also READ (GUARANTEES A4). A lease's keys: checkKeysWritable. */
  checkPut(user: string, req: PutRequest): void {
    checkPutWith(this.perms(user), req);
  }

  /** WRITE on the range; with prev_kv also READ on all of it (A4). */
  checkDeleteRange(user: string, req: DeleteRangeRequest): void {
    checkDeleteWith(this.perms(user), req);
  }

  /**
   * READ on every compare (A2) and every op of BOTH branches, executed or not, nested txns to any
   * depth (A3). Iterative, so no nesting depth can overflow the stack.
   */
  checkTxn(user: string, req: TxnRequest): void {
    const p = this.perms(user);
    if (p.admin) return;
    const stack: TxnRequest[] = [req];
    for (let t = stack.pop(); t !== undefined; t = stack.pop()) {
      for (const c of t.compare) require(can(p, 'read', c.key, c.rangeEnd));
      for (const op of [...t.success, ...t.failure]) {
        switch (op.type) {
          case 'range':
            checkRangeWith(p, op.range);
            break;
          case 'put':
            checkPutWith(p, op.put);
            break;
          case 'deleteRange':
            checkDeleteWith(p, op.deleteRange);
            break;
          case 'txn':
            stack.push(op.txn);
            break;
          case 'none':
            break;
        }
      }
    }
  }

  /** READ on the watched interval, in the form the watch will use (normalised first, A7). */
  checkWatch(user: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    require(this.canRead(user, key, rangeEnd));
  }

  /** The cluster's root role only: a tenant administrator is not a cluster administrator. */
  checkAdmin(user: string): void {
    require(this.isAdmin(user));
  }

  /** Whether `user` administers `tenant` (T2). The cluster's root administers every tenant. */
  isTenantAdmin(user: string, tenant: string): boolean {
    const p = this.perms(user);
    return p.admin || (p.tenant !== undefined && p.tenant.admin && p.tenant.id === tenant);
  }

  /** Management of `tenant`'s users and roles: its administrators and the cluster's root. */
  checkTenantAdmin(user: string, tenant: string): void {
    require(this.isTenantAdmin(user, tenant));
  }

  /** WRITE on every key (lease revoke, put with a lease: the keys attached to it). */
  checkKeysWritable(user: string, keys: readonly Uint8Array[]): void {
    const p = this.perms(user);
    for (const k of keys) require(can(p, 'write', k, NONE));
  }

  /** READ on every key (lease time-to-live with keys). */
  checkKeysReadable(user: string, keys: readonly Uint8Array[]): void {
    const p = this.perms(user);
    for (const k of keys) require(can(p, 'read', k, NONE));
  }

  private perms(user: string): UserPerms {
    const rev = this.table.revision();
    const epoch = this.table.writeEpoch();
    if (rev !== this.cacheRevision || epoch !== this.cacheEpoch) {
      this.cache.clear();
      this.cacheRevision = rev;
      this.cacheEpoch = epoch;
    }
    const hit = this.cache.get(user);
    if (hit !== undefined) return hit;
    const u = this.table.getUser(user);
    // Unknown users are not cached: their names are not bounded by the table.
    if (u === undefined) return EMPTY_PERMS;
    const built = this.build(tenantOfName(user), u.roles);
    this.cache.set(user, built);
    return built;
  }

  private build(tenant: string | undefined, roles: readonly string[]): UserPerms {
    if (tenant !== undefined) return this.buildTenant(tenant, roles);
    if (roles.includes(ROOT)) return { admin: true, read: [], write: [] };
    return { admin: false, ...this.intervals(undefined, roles) };
  }

  private buildTenant(tenant: string, roles: readonly string[]): UserPerms {
    // A record under an invalid id cannot be written (ops.ts); if one were there, it gets nothing.
    if (!validTenantId(tenant)) return { admin: false, tenant: { id: tenant, admin: false, fence: () => false }, read: [], write: [] };
    const mapper = new KeyMapper(tenant);
    const fence = (key: Uint8Array, rangeEnd: Uint8Array): boolean => mapper.containsRange(key, rangeEnd);
    if (roles.includes(rootRoleOf(tenant))) {
      const all = keyRangeInterval(mapper.prefix, mapper.end)!;
      return { admin: false, tenant: { id: tenant, admin: true, fence }, read: [all], write: [all] };
    }
    return { admin: false, tenant: { id: tenant, admin: false, fence }, ...this.intervals(tenant, roles) };
  }

  private intervals(scope: string | undefined, roles: readonly string[]): { read: Interval[]; write: Interval[] } {
    const read: Interval[] = [];
    const write: Interval[] = [];
    for (const name of roles) {
      if (tenantOfName(name) !== scope) continue; // T2: only the user's own scope
      const role = this.table.getRole(name);
      if (role === undefined) continue;
      for (const perm of role.perms) {
        const ivl = keyRangeInterval(perm.key, perm.rangeEnd);
        if (ivl === undefined) continue; // a perm naming nothing grants nothing
        if (perm.permType !== 'WRITE') read.push(ivl);
        if (perm.permType !== 'READ') write.push(ivl);
      }
    }
    return { read: mergeIntervals(read), write: mergeIntervals(write) };
  }
}

/**
 * Whether a token with these claims is still good against the applied auth state: auth is enabled
 * (disable kills every token, etcd), the user exists, and the token was issued at or after the
 * user's last credential change (creation, password, role grant/revoke) and the last enable (A13).
 * `user` is the relative name, `tenant` its scope (a token's sub and ten claims).
 */
export function authTokenValid(table: AuthTable, claims: { user: string; tenant?: string | undefined; revision: number }): boolean {
  const state = table.state();
  if (!state.enabled) return false;
  const name = internalName(claims.tenant, claims.user);
  const u = name === undefined ? undefined : table.getUser(name);
  if (u === undefined) return false;
  return claims.revision >= Math.max(u.credentialRevision, state.enabledRevision);
}
