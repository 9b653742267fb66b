// etcd's auth API (/v3/auth/*, API.md section 10) on top of the AuthManager: edge checks,
// password hashing before proposing (only hashes enter the log), linearizable reads of the auth
// table, and an audit record for every change and every authentication.
//
// Who may do what (etcd 3.4, verified): everything but the reads below needs role root; a user
// may read itself (user/get) and the roles it holds (role/get). While auth is disabled everything
// is allowed, as in etcd (enabling is how a cluster leaves that state).
//
// Scopes (docs/tenancy-plan.md; names.ts in src/auth): users and roles belong to the cluster or to
// one tenant, and every call works in ONE scope, with names relative to it:
// - a tenant principal's calls are in its own tenant (a request's `tenant` field may name that
//   tenant and no other: any other is refused as a forbidden request, A21). Its administrators
//   (tenant role `root`) manage that tenant's users, roles and grants; they are not cluster
//   administrators (enable/disable, members, … stay the cluster root's);
// - a cluster principal's calls are in the cluster's scope, or in tenant T's when the request
//   carries `"tenant": "T"` (only the cluster's root may do that, and a T that does not exist is
//   then TENANT_NOT_FOUND, told only to a cluster administrator).
// A tenant role's permissions are given and listed relative to the tenant's root (key "a" is the
// tenant's "a"; range_end "\0" reaches the end of the tenant, never beyond) and stored as internal
// ranges inside the tenant's prefix (KeyMapper.rangeToInternal), so the checker's fence holds.
// Names are validated first (INVALID_AUTH_NAME: control characters; "/" in a new cluster user).
import {
  AuthError,
  internalName,
  splitInternalName,
  validClusterUserName,
  validScopedName,
  type AuthChecker,
  type AuthOp,
  type Permission,
} from '../auth/index.js';
import { equalBytes } from '../adt/index.js';
import { KeyMapper, validTenantId } from '../tenants/index.js';
import type { ResponseHeader } from '../wire/index.js';
import type { AuthCheck, AuthManager, RequestAuth } from './auth.js';
import type { AuthStamp } from './entry.js';

export interface AuthServiceHost {
  /** Proposes the op and resolves once it is applied here; rejects with its refusal. */
  propose(op: AuthOp, stamp: AuthStamp | undefined): Promise<void>;
  readBarrier(): Promise<void>;
  header(): ResponseHeader;
}

type Header = { header: ResponseHeader };
/** Keyward's extension on every user and role call: the tenant whose users and roles are meant. */
type Scoped = { tenant?: string | undefined };

const EMPTY = new Uint8Array(0);
const FROM_KEY = Uint8Array.of(0);

export class AuthService {
  constructor(
    private readonly authz: AuthManager,
    private readonly host: AuthServiceHost,
  ) {}

  /** The secure default's first act (docs/security-plan.md): a no-op once the store was ever set up. */
  async bootstrap(): Promise<void> {
    if (this.authz.table.enabled() || this.authz.table.listUsers().length > 0) return;
    await this.host.propose({ type: 'bootstrap' }, undefined);
    this.authz.record({ action: 'auth.bootstrap', outcome: this.authz.table.enabled() ? 'enabled' : 'skipped' });
  }

  async enable(auth?: RequestAuth): Promise<Header> {
    return this.proposed(auth, this.authz.authorizeAdmin(auth), { type: 'enable' }, 'auth.enable', undefined);
  }

  async disable(auth?: RequestAuth): Promise<Header> {
    return this.proposed(auth, this.authz.authorizeAdmin(auth), { type: 'disable' }, 'auth.disable', undefined);
  }

  async status(auth?: RequestAuth): Promise<Header & { enabled: boolean; authRevision: number }> {
    await this.host.readBarrier();
    this.authz.authorize(auth, () => {});
    return { header: this.host.header(), enabled: this.authz.table.enabled(), authRevision: this.authz.table.revision() };
  }

  /**
   * `name` is "<tenant>/<user>" for a tenant's user (AuthManager.authenticate); with a `tenant`
   * field, `name` is the user's name inside that tenant.
   */
  async authenticate(req: { name: string; password: string } & Scoped, auth?: RequestAuth): Promise<Header & { token: string }> {
    await this.host.readBarrier();
    // An invalid tenant field names nobody: a login no user can have (same work, AUTH_FAILED).
    const login = req.tenant === undefined ? req.name : validTenantId(req.tenant) ? `${req.tenant}/${req.name}` : '\u0000';
    const token = await this.authz.authenticate(login, req.password, auth?.remote);
    return { header: this.host.header(), token };
  }

  async userAdd(req: { name: string; password: string; noPassword: boolean } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    if (req.name === '') throw new AuthError('USER_EMPTY');
    if (scope === undefined && !validClusterUserName(req.name)) throw new AuthError('INVALID_AUTH_NAME');
    const name = this.name(scope, req.name);
    const stamp = this.authorizeManage(auth, scope);
    const op: AuthOp = req.noPassword
      ? { type: 'userAdd', name, noPassword: true }
      : { type: 'userAdd', name, noPassword: false, passwordHash: await this.authz.hashPassword(req.password) };
    return this.proposed(auth, stamp, op, 'user.add', scope, req.name);
  }

  async userGet(req: { name: string } & Scoped, auth?: RequestAuth): Promise<Header & { roles: string[] }> {
    const scope = this.scopeOf(auth, req.tenant);
    const name = this.name(scope, req.name);
    await this.host.readBarrier();
    const manage = this.manageCheck(scope);
    this.authz.authorize(auth, (c, u) => {
      if (u !== name) manage(c, u);
    });
    this.requireTenant(scope);
    const user = this.authz.table.getUser(name);
    if (user === undefined) throw new AuthError('USER_NOT_FOUND');
    return { header: this.host.header(), roles: user.roles.map((r) => splitInternalName(r).name).sort() };
  }

  async userList(auth?: RequestAuth, req: Scoped = {}): Promise<Header & { users: string[] }> {
    const scope = this.scopeOf(auth, req.tenant);
    await this.host.readBarrier();
    this.authorizeManage(auth, scope);
    return { header: this.host.header(), users: this.authz.table.scopeUsers(scope).map((n) => splitInternalName(n).name) };
  }

  async userDelete(req: { name: string } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    return this.change(auth, scope, { type: 'userDelete', name: this.name(scope, req.name) }, 'user.delete', req.name);
  }

  async userChangePassword(req: { name: string; password: string } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    const name = this.name(scope, req.name);
    const stamp = this.authorizeManage(auth, scope);
    const passwordHash = await this.authz.hashPassword(req.password);
    return this.proposed(auth, stamp, { type: 'userChangePassword', name, passwordHash }, 'user.changepw', scope, req.name);
  }

  async userGrantRole(req: { user: string; role: string } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    const op: AuthOp = { type: 'userGrantRole', user: this.name(scope, req.user), role: this.name(scope, req.role) };
    return this.change(auth, scope, op, 'user.grant', req.user, { role: req.role });
  }

  async userRevokeRole(req: { name: string; role: string } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    const op: AuthOp = { type: 'userRevokeRole', name: this.name(scope, req.name), role: this.name(scope, req.role) };
    return this.change(auth, scope, op, 'user.revoke', req.name, { role: req.role });
  }

  async roleAdd(req: { name: string } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    if (req.name === '') throw new AuthError('ROLE_EMPTY');
    return this.change(auth, scope, { type: 'roleAdd', name: this.name(scope, req.name) }, 'role.add', req.name);
  }

  async roleGet(req: { role: string } & Scoped, auth?: RequestAuth): Promise<Header & { perm: Permission[] }> {
    const scope = this.scopeOf(auth, req.tenant);
    const role = this.name(scope, req.role);
    await this.host.readBarrier();
    const manage = this.manageCheck(scope);
    this.authz.authorize(auth, (c, u) => {
      if (!(this.authz.table.getUser(u)?.roles.includes(role) ?? false)) manage(c, u);
    });
    this.requireTenant(scope);
    const rec = this.authz.table.getRole(role);
    if (rec === undefined) throw new AuthError('ROLE_NOT_FOUND');
    return { header: this.host.header(), perm: scope === undefined ? rec.perms : permsOut(new KeyMapper(scope), rec.perms) };
  }

  async roleList(auth?: RequestAuth, req: Scoped = {}): Promise<Header & { roles: string[] }> {
    const scope = this.scopeOf(auth, req.tenant);
    await this.host.readBarrier();
    this.authorizeManage(auth, scope);
    return { header: this.host.header(), roles: this.authz.table.scopeRoles(scope).map((n) => splitInternalName(n).name) };
  }

  async roleDelete(req: { role: string } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    return this.change(auth, scope, { type: 'roleDelete', role: this.name(scope, req.role) }, 'role.delete', req.role);
  }

  async roleGrantPermission(req: { name: string; perm: Permission } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    const name = this.name(scope, req.name);
    const stamp = this.authorizeManage(auth, scope);
    const range = scope === undefined ? req.perm : new KeyMapper(scope).rangeToInternal(req.perm.key, req.perm.rangeEnd);
    const perm: Permission = { permType: req.perm.permType, key: range.key, rangeEnd: range.rangeEnd };
    return this.proposed(auth, stamp, { type: 'roleGrantPermission', name, perm }, 'role.grant', scope, req.name, {
      permType: req.perm.permType,
      key: Buffer.from(req.perm.key).toString('base64'),
      rangeEnd: Buffer.from(req.perm.rangeEnd).toString('base64'),
    });
  }

  async roleRevokePermission(req: { role: string; key: Uint8Array; rangeEnd: Uint8Array } & Scoped, auth?: RequestAuth): Promise<Header> {
    const scope = this.scopeOf(auth, req.tenant);
    const role = this.name(scope, req.role);
    const stamp = this.authorizeManage(auth, scope);
    const range = scope === undefined ? req : new KeyMapper(scope).rangeToInternal(req.key, req.rangeEnd);
    const op: AuthOp = { type: 'roleRevokePermission', role, key: range.key, rangeEnd: range.rangeEnd };
    return this.proposed(auth, stamp, op, 'role.revoke', scope, req.role, {
      key: Buffer.from(req.key).toString('base64'),
      rangeEnd: Buffer.from(req.rangeEnd).toString('base64'),
    });
  }

  // ---- scopes ----------------------------------------------------------------------------------

  /**
   * The scope a call works in: a tenant principal's own tenant (asking for another is refused as
   * forbidden, A21), else the requested tenant (undefined: the cluster).
   */
  private scopeOf(auth: RequestAuth | undefined, requested: string | undefined): string | undefined {
    const own = auth?.principal?.tenant;
    if (own === undefined) return requested;
    if (requested !== undefined && requested !== own) throw new AuthError('PERMISSION_DENIED');
    return own;
  }

  /** The internal name of a user or role named in a request, or INVALID_AUTH_NAME. */
  private name(scope: string | undefined, name: string): string {
    if (!validScopedName(name)) throw new AuthError('INVALID_AUTH_NAME');
    // An invalid tenant id in `scope` is refused by requireTenant (or admission) before any
    // lookup or proposal, so the raw form below is never used.
    return internalName(scope, name) ?? `${scope ?? ''}\u0000${name}`;
  }

  /** Managing a scope: the cluster's root for the cluster; the tenant's administrators (and the cluster's root) for a tenant. */
  private manageCheck(scope: string | undefined): AuthCheck {
    return scope === undefined ? (c: AuthChecker, u: string) => c.checkAdmin(u) : (c: AuthChecker, u: string) => c.checkTenantAdmin(u, scope);
  }

  private authorizeManage(auth: RequestAuth | undefined, scope: string | undefined): AuthStamp {
    const stamp = this.authz.authorize(auth, this.manageCheck(scope));
    this.requireTenant(scope);
    return stamp;
  }

  /**
   * After authorization: the tenant a call manages must exist. A tenant principal got here past
   * admission (its tenant exists); only a cluster administrator (or anyone while auth is off) can
   * name a missing one, and is told so.
   */
  private requireTenant(scope: string | undefined): void {
    if (scope !== undefined && this.authz.tenants.get(scope) === undefined) throw new AuthError('TENANT_NOT_FOUND');
  }

  private async change(auth: RequestAuth | undefined, scope: string | undefined, op: AuthOp, action: string, target: string, extra: object = {}): Promise<Header> {
    return this.proposed(auth, this.authorizeManage(auth, scope), op, action, scope, target, extra);
  }

  private async proposed(
    auth: RequestAuth | undefined,
    stamp: AuthStamp,
    op: AuthOp,
    action: string,
    scope: string | undefined,
    target?: string,
    extra: object = {},
  ): Promise<Header> {
    const p = auth?.principal;
    const who = {
      action,
      user: p?.user,
      ...(p?.tenant !== undefined ? { tenant: p.tenant } : {}),
      remote: auth?.remote,
      ...(scope !== undefined ? { scope } : {}),
      ...(target !== undefined ? { target } : {}),
      ...extra,
    };
    try {
      await this.host.propose(op, stamp);
    } catch (e) {
      this.authz.record({ ...who, outcome: 'refused', code: e instanceof AuthError ? e.code : 'error' });
      throw e;
    }
    this.authz.record({ ...who, outcome: 'applied' });
    return { header: this.host.header() };
  }
}

/** A tenant role's internal permissions as its tenant names them (rangeToInternal reversed). */
function permsOut(mapper: KeyMapper, perms: readonly Permission[]): Permission[] {
  const out: Permission[] = [];
  for (const p of perms) {
    // Grants are translated in, so every stored range is inside; one that is not (it cannot be
    // written through this API) is left out rather than shown with foreign bytes.
    if (!mapper.containsRange(p.key, p.rangeEnd)) continue;
    const key = mapper.toExternal(p.key);
    // The tenant's end E comes only from a "\0" grant (P‖e never equals E), so this is exact.
    const rangeEnd = p.rangeEnd.length === 0 ? EMPTY : equalBytes(p.rangeEnd, mapper.end) ? FROM_KEY : mapper.toExternal(p.rangeEnd);
    out.push({ permType: p.permType, key, rangeEnd });
  }
  return out;
}

