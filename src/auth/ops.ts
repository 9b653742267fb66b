// The auth changes that go through Raft, their log-entry payloads, and how each is applied to the
// auth table inside an apply batch.
//
// Everything that could differ between members is decided by the proposer and written into the
// entry: the password is hashed (with a random salt) at the edge, so only the encoded hash is in
// the entry, and applying is a pure function of the entry and the table, identical on every member.
//
// Rules are etcd 3.4's (server/auth/store.go), checked before the first write so a refusal leaves
// no trace:
//   enable            user root must exist (ROOT_USER_NOT_EXIST) and hold role root
//                     (ROOT_ROLE_NOT_EXIST); already enabled: no-op
//   disable           already disabled: no-op
//   userAdd           empty name USER_EMPTY; exists USER_ALREADY_EXIST
//   userDelete        root while enabled INVALID_AUTH_MGMT; unknown USER_NOT_FOUND
//   userChangePassword unknown USER_NOT_FOUND; keeps roles and the noPassword option (etcd)
//   userGrantRole     unknown user USER_NOT_FOUND; unknown role ROLE_NOT_FOUND, except "root",
//                     which etcd lets be granted without a role record; already granted: no-op
//   userRevokeRole    root from root while enabled INVALID_AUTH_MGMT; unknown user
//                     USER_NOT_FOUND; not granted ROLE_NOT_GRANTED
//   roleAdd           empty ROLE_EMPTY; exists ROLE_ALREADY_EXIST
//   roleDelete        root while enabled INVALID_AUTH_MGMT; unknown ROLE_NOT_FOUND; removed
//                     from every user holding it
//   roleGrantPermission unknown role ROLE_NOT_FOUND; same (key, rangeEnd) replaces the type
//                     (the same type again: no-op)
//   roleRevokePermission unknown role ROLE_NOT_FOUND; no exact (key, rangeEnd) PERMISSION_NOT_GRANTED
//   bootstrap         no users and never enabled: user root (noPassword) + role root + grant +
//                     enable, as ONE revision; otherwise a no-op
//   tenantPurge       removes every user and role of the tenant (names.ts: "<tenant>\0…") as ONE
//                     revision, so their tokens die with them; none: a no-op. Invalid id:
//                     INVALID_AUTH_MGMT. The server applies it in the tenant delete's batch.
//
// Tenant scopes (names.ts): names in ops are internal names. A user and the roles granted to it
// must be of the same scope (ROLE_NOT_FOUND otherwise: a role of another scope does not exist as
// far as the user's scope can tell); "<tenant>\0root" is grantable without a record, as "root" is.
// The root protections (INVALID_AUTH_MGMT while enabled) hold for the cluster's root only: a
// tenant's root user and role are ordinary records its administrators may remove. userAdd and
// roleAdd into a tenant need the tenant to exist at apply (ApplyAuthOptions.tenantExists; without
// it they are refused, fail closed): an add racing with the tenant's delete must not leave a
// principal behind that a re-created tenant of the same id would inherit. Names that no edge
// would accept (a control character, a cluster user name with "/", an invalid tenant id) are
// refused by the adds as INVALID_AUTH_MGMT.
// Every change that applied is +1 auth revision; refusals and no-ops (nothing changed) are not.
// (etcd bumps on a same-type re-grant and not on enable/disable; Keyward bumps exactly when state
// changes, since enable/disable decide which tokens live.) A name that cannot be stored (over
// MAX_NAME_BYTES, or with a lone surrogate) is refused as INVALID_AUTH_MGMT by the adds.
import type { WriteTxn } from '../storage/index.js';
import { AuthError, type AuthErrorCode } from './errors.js';
import { comparePerms, compareNames, ROOT, validName, type AuthMeta, type AuthTable, type Permission, type UserRecord } from './table.js';
import { decodeJsonPayload, encodeJsonPayload, equalBytes } from '../adt/index.js';
import { validTenantId } from '../tenants/index.js';
import { rootRoleOf, splitInternalName, tenantOfName, validClusterUserName, validScopedName } from './names.js';

/** What apply needs to know beyond the auth table. */
export interface ApplyAuthOptions {
  /** Whether tenant `id` exists in the applied state (the server's TenantTable). Default: none does. */
  tenantExists?: (id: string) => boolean;
}

export type AuthOp =
  | { type: 'bootstrap' }
  | { type: 'enable' }
  | { type: 'disable' }
  | { type: 'userAdd'; name: string; passwordHash?: string; noPassword: boolean }
  | { type: 'userDelete'; name: string }
  | { type: 'userChangePassword'; name: string; passwordHash: string }
  | { type: 'userGrantRole'; user: string; role: string }
  | { type: 'userRevokeRole'; name: string; role: string }
  | { type: 'roleAdd'; name: string }
  | { type: 'roleDelete'; role: string }
  | { type: 'roleGrantPermission'; name: string; perm: Permission }
  | { type: 'roleRevokePermission'; role: string; key: Uint8Array; rangeEnd: Uint8Array }
  | { type: 'tenantPurge'; tenant: string };

export type AuthOpType = AuthOp['type'];

/**
 * `changed`: whether the op changed anything (false for the no-ops above); `revision`: the auth
 * revision after it.
 */
export type AuthOpOutcome = { ok: true; changed: boolean; revision: number } | { ok: false; error: AuthError };

// ---- payload: [0] = format version 1, then the op as JSON (bytes in base64) --------------------
// JSON for the same reasons as the records (table.ts): rare, small, extensible.

const PAYLOAD_VERSION = 1;
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodeAuthOp(op: AuthOp): Uint8Array {
  let o: Record<string, unknown>;
  switch (op.type) {
    case 'roleGrantPermission':
      o = { type: op.type, name: op.name, perm: { t: op.perm.permType, k: b64(op.perm.key), e: b64(op.perm.rangeEnd) } };
      break;
    case 'roleRevokePermission':
      o = { type: op.type, role: op.role, k: b64(op.key), e: b64(op.rangeEnd) };
      break;
    default:
      o = { ...op };
  }
  return encodeJsonPayload(PAYLOAD_VERSION, o);
}

/** Decodes a committed payload. Malformed bytes are corruption, not input: a plain Error. */
export function decodeAuthOp(data: Uint8Array): AuthOp {
  const bad = (): never => {
    throw new Error('auth: malformed auth entry');
  };
  const o = decodeJsonPayload(data, PAYLOAD_VERSION) ?? bad();
  const str = (k: string, from: Record<string, unknown> = o): string => {
    const s = from[k];
    return typeof s === 'string' ? s : bad();
  };
  const bytes = (k: string, from: Record<string, unknown> = o): Uint8Array => {
    const s = str(k, from);
    if (!B64_RE.test(s) || s.length % 4 !== 0) bad();
    return new Uint8Array(Buffer.from(s, 'base64'));
  };
  const only = (...keys: string[]): void => {
    for (const k of Object.keys(o)) if (k !== 'type' && !keys.includes(k)) bad();
  };
  switch (o['type']) {
    case 'bootstrap':
    case 'enable':
    case 'disable':
      only();
      return { type: o['type'] };
    case 'userAdd': {
      only('name', 'passwordHash', 'noPassword');
      if (typeof o['noPassword'] !== 'boolean') bad();
      const op: AuthOp = { type: 'userAdd', name: str('name'), noPassword: o['noPassword'] as boolean };
      if (o['passwordHash'] !== undefined) op.passwordHash = str('passwordHash');
      return op;
    }
    case 'userDelete':
      only('name');
      return { type: 'userDelete', name: str('name') };
    case 'userChangePassword':
      only('name', 'passwordHash');
      return { type: 'userChangePassword', name: str('name'), passwordHash: str('passwordHash') };
    case 'userGrantRole':
      only('user', 'role');
      return { type: 'userGrantRole', user: str('user'), role: str('role') };
    case 'userRevokeRole':
      only('name', 'role');
      return { type: 'userRevokeRole', name: str('name'), role: str('role') };
    case 'roleAdd':
      only('name');
      return { type: 'roleAdd', name: str('name') };
    case 'roleDelete':
      only('role');
      return { type: 'roleDelete', role: str('role') };
    case 'roleGrantPermission': {
      only('name', 'perm');
      const p = o['perm'];
      if (typeof p !== 'object' || p === null || Array.isArray(p)) return bad();
      const perm = p as Record<string, unknown>;
      const t = perm['t'];
      if (t !== 'READ' && t !== 'WRITE' && t !== 'READWRITE') return bad();
      return { type: 'roleGrantPermission', name: str('name'), perm: { permType: t, key: bytes('k', perm), rangeEnd: bytes('e', perm) } };
    }
    case 'roleRevokePermission':
      only('role', 'k', 'e');
      return { type: 'roleRevokePermission', role: str('role'), key: bytes('k'), rangeEnd: bytes('e') };
    case 'tenantPurge':
      only('tenant');
      return { type: 'tenantPurge', tenant: str('tenant') };
    default:
      return bad();
  }
}

// ---- apply ---------------------------------------------------------------------------------------

const refuse = (code: AuthErrorCode): AuthOpOutcome => ({ ok: false, error: new AuthError(code) });

/**
 * Applies one op inside the batch transaction (mvcc's ExternalChange: wrap the outcome as
 * `{ ok: true, value }`). Never throws for any decoded op: every refusal is an outcome.
 */
export function applyAuthOp(table: AuthTable, txn: WriteTxn, op: AuthOp, opts: ApplyAuthOptions = {}): AuthOpOutcome {
  const meta = table.state();
  const next = meta.revision + 1;
  const unchanged: AuthOpOutcome = { ok: true, changed: false, revision: meta.revision };
  const commit = (m: Partial<AuthMeta> = {}): AuthOpOutcome => {
    table.putState(txn, { ...meta, ...m, revision: next });
    return { ok: true, changed: true, revision: next };
  };

  switch (op.type) {
    case 'bootstrap': {
      if (meta.enabledRevision !== 0 || table.hasUsers()) return unchanged;
      if (table.getRole(ROOT) === undefined) table.putRole(txn, { name: ROOT, perms: [] });
      table.putUser(txn, { name: ROOT, roles: [ROOT], noPassword: true, credentialRevision: next });
      return commit({ enabled: true, enabledRevision: next });
    }
    case 'enable': {
      if (meta.enabled) return unchanged;
      const root = table.getUser(ROOT);
      if (root === undefined) return refuse('ROOT_USER_NOT_EXIST');
      if (!root.roles.includes(ROOT)) return refuse('ROOT_ROLE_NOT_EXIST');
      return commit({ enabled: true, enabledRevision: next });
    }
    case 'disable':
      if (!meta.enabled) return unchanged;
      return commit({ enabled: false });
    case 'userAdd': {
      if (op.name.length === 0) return refuse('USER_EMPTY');
      if (!validName(op.name) || !addable(op.name, 'user', opts)) return refuse('INVALID_AUTH_MGMT');
      if (table.getUser(op.name) !== undefined) return refuse('USER_ALREADY_EXIST');
      const rec: UserRecord = { name: op.name, roles: [], noPassword: op.noPassword, credentialRevision: next };
      // A noPassword user has no hash even if one was sent (etcd ignores the password then).
      if (!op.noPassword && op.passwordHash !== undefined) rec.passwordHash = op.passwordHash;
      table.putUser(txn, rec);
      return commit();
    }
    case 'userDelete': {
      if (meta.enabled && op.name === ROOT) return refuse('INVALID_AUTH_MGMT');
      if (table.getUser(op.name) === undefined) return refuse('USER_NOT_FOUND');
      table.removeUser(txn, op.name);
      return commit();
    }
    case 'userChangePassword': {
      const u = table.getUser(op.name);
      if (u === undefined) return refuse('USER_NOT_FOUND');
      table.putUser(txn, { ...u, passwordHash: op.passwordHash, credentialRevision: next });
      return commit();
    }
    case 'userGrantRole': {
      const u = table.getUser(op.user);
      if (u === undefined) return refuse('USER_NOT_FOUND');
      const scope = tenantOfName(op.user);
      if (tenantOfName(op.role) !== scope) return refuse('ROLE_NOT_FOUND');
      if (op.role !== rootRoleOf(scope) && table.getRole(op.role) === undefined) return refuse('ROLE_NOT_FOUND');
      if (u.roles.includes(op.role)) return unchanged;
      const roles = [...u.roles, op.role].sort(compareNames);
      table.putUser(txn, { ...u, roles, credentialRevision: next });
      return commit();
    }
    case 'userRevokeRole': {
      if (meta.enabled && op.name === ROOT && op.role === ROOT) return refuse('INVALID_AUTH_MGMT');
      const u = table.getUser(op.name);
      if (u === undefined) return refuse('USER_NOT_FOUND');
      if (!u.roles.includes(op.role)) return refuse('ROLE_NOT_GRANTED');
      table.putUser(txn, { ...u, roles: u.roles.filter((r) => r !== op.role), credentialRevision: next });
      return commit();
    }
    case 'roleAdd': {
      if (op.name.length === 0) return refuse('ROLE_EMPTY');
      if (!validName(op.name) || !addable(op.name, 'role', opts)) return refuse('INVALID_AUTH_MGMT');
      if (table.getRole(op.name) !== undefined) return refuse('ROLE_ALREADY_EXIST');
      table.putRole(txn, { name: op.name, perms: [] });
      return commit();
    }
    case 'roleDelete': {
      if (meta.enabled && op.role === ROOT) return refuse('INVALID_AUTH_MGMT');
      if (table.getRole(op.role) === undefined) return refuse('ROLE_NOT_FOUND');
      // Read every holder before the first write (a table must not be written under a cursor).
      const holders = table.allUsers().filter((u) => u.roles.includes(op.role));
      table.removeRole(txn, op.role);
      // Losing a role is a revoke: the holders' tokens die as with userRevokeRole.
      for (const u of holders) table.putUser(txn, { ...u, roles: u.roles.filter((r) => r !== op.role), credentialRevision: next });
      return commit();
    }
    case 'roleGrantPermission': {
      const r = table.getRole(op.name);
      if (r === undefined) return refuse('ROLE_NOT_FOUND');
      const perm: Permission = { permType: op.perm.permType, key: op.perm.key.slice(), rangeEnd: op.perm.rangeEnd.slice() };
      const i = r.perms.findIndex((p) => samePermRange(p, perm.key, perm.rangeEnd));
      let perms: Permission[];
      if (i >= 0) {
        if (r.perms[i]!.permType === perm.permType) return unchanged;
        perms = r.perms.map((p, j) => (j === i ? perm : p));
      } else {
        perms = [...r.perms, perm].sort(comparePerms);
      }
      table.putRole(txn, { name: r.name, perms });
      return commit();
    }
    case 'roleRevokePermission': {
      const r = table.getRole(op.role);
      if (r === undefined) return refuse('ROLE_NOT_FOUND');
      const perms = r.perms.filter((p) => !samePermRange(p, op.key, op.rangeEnd));
      if (perms.length === r.perms.length) return refuse('PERMISSION_NOT_GRANTED');
      table.putRole(txn, { name: r.name, perms });
      return commit();
    }
    case 'tenantPurge': {
      if (!validTenantId(op.tenant)) return refuse('INVALID_AUTH_MGMT');
      // Read both lists before the first write (no table is written under a cursor).
      const users = table.scopeUsers(op.tenant);
      const roles = table.scopeRoles(op.tenant);
      if (users.length === 0 && roles.length === 0) return unchanged;
      for (const u of users) table.removeUser(txn, u);
      for (const r of roles) table.removeRole(txn, r);
      return commit();
    }
  }
}

/**
 * The scope an op manages: the tenant its user and role names belong to, or undefined for the
 * cluster (enable, disable, bootstrap, tenantPurge, cluster names, and an op mixing scopes, which
 * apply refuses anyway). The server's apply-time guard of an auth entry is "administers this scope".
 */
export function authOpScope(op: AuthOp): string | undefined {
  switch (op.type) {
    case 'bootstrap':
    case 'enable':
    case 'disable':
    case 'tenantPurge':
      return undefined;
    case 'userAdd':
    case 'userDelete':
    case 'userChangePassword':
    case 'roleAdd':
    case 'roleGrantPermission':
      return tenantOfName(op.name);
    case 'roleDelete':
    case 'roleRevokePermission':
      return tenantOfName(op.role);
    case 'userGrantRole': {
      const t = tenantOfName(op.user);
      return t === tenantOfName(op.role) ? t : undefined;
    }
    case 'userRevokeRole': {
      const t = tenantOfName(op.name);
      return t === tenantOfName(op.role) ? t : undefined;
    }
  }
}

/** Whether a new user or role may have this internal name (see the rules above). */
function addable(internal: string, kind: 'user' | 'role', opts: ApplyAuthOptions): boolean {
  const { tenant, name } = splitInternalName(internal);
  if (name.length === 0 || !validScopedName(name)) return false;
  if (tenant === undefined) return kind === 'role' || validClusterUserName(name);
  return validTenantId(tenant) && (opts.tenantExists?.(tenant) ?? false);
}

function samePermRange(p: Permission, key: Uint8Array, rangeEnd: Uint8Array): boolean {
  return equalBytes(p.key, key) && equalBytes(p.rangeEnd, rangeEnd);
}
