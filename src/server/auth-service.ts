// etcd's auth API (/v3/auth/*, API.md section 10) on top of the AuthManager: edge checks,
// password hashing before proposing (only hashes enter the log), linearizable reads of the auth
// table, and an audit record for every change and every authentication.
//
// Who may do what (etcd 3.4, verified): everything but the reads below needs role root; a user
// may read itself (user/get) and the roles it holds (role/get). While auth is disabled everything
// is allowed, as in etcd (enabling is how a cluster leaves that state).
import { AuthError, type AuthOp, type Permission } from '../auth/index.js';
import type { ResponseHeader } from '../wire/index.js';
import type { AuthManager, RequestAuth } from './auth.js';
import type { AuthStamp } from './entry.js';

export interface AuthServiceHost {
  /** Proposes the op and resolves once it is applied here; rejects with its refusal. */
  propose(op: AuthOp, stamp: AuthStamp | undefined): Promise<void>;
  readBarrier(): Promise<void>;
  header(): ResponseHeader;
}

type Header = { header: ResponseHeader };

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
    return this.change(auth, { type: 'enable' }, 'auth.enable');
  }

  async disable(auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'disable' }, 'auth.disable');
  }

  async status(auth?: RequestAuth): Promise<Header & { enabled: boolean; authRevision: number }> {
    await this.host.readBarrier();
    this.authz.authorize(auth, () => {});
    return { header: this.host.header(), enabled: this.authz.table.enabled(), authRevision: this.authz.table.revision() };
  }

  async authenticate(req: { name: string; password: string }, auth?: RequestAuth): Promise<Header & { token: string }> {
    await this.host.readBarrier();
    const token = await this.authz.authenticate(req.name, req.password, auth?.remote);
    return { header: this.host.header(), token };
  }

  async userAdd(req: { name: string; password: string; noPassword: boolean }, auth?: RequestAuth): Promise<Header> {
    if (req.name === '') throw new AuthError('USER_EMPTY');
    const stamp = this.authz.authorizeAdmin(auth);
    const op: AuthOp = req.noPassword
      ? { type: 'userAdd', name: req.name, noPassword: true }
      : { type: 'userAdd', name: req.name, noPassword: false, passwordHash: await this.authz.hashPassword(req.password) };
    return this.proposed(auth, stamp, op, 'user.add', req.name);
  }

  async userGet(req: { name: string }, auth?: RequestAuth): Promise<Header & { roles: string[] }> {
    await this.host.readBarrier();
    this.authz.authorize(auth, (c, u) => {
      if (u !== req.name) c.checkAdmin(u);
    });
    const user = this.authz.table.getUser(req.name);
    if (user === undefined) throw new AuthError('USER_NOT_FOUND');
    return { header: this.host.header(), roles: [...user.roles].sort() };
  }

  async userList(auth?: RequestAuth): Promise<Header & { users: string[] }> {
    await this.host.readBarrier();
    this.authz.authorizeAdmin(auth);
    return { header: this.host.header(), users: this.authz.table.listUsers() };
  }

  async userDelete(req: { name: string }, auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'userDelete', name: req.name }, 'user.delete', req.name);
  }

  async userChangePassword(req: { name: string; password: string }, auth?: RequestAuth): Promise<Header> {
    const stamp = this.authz.authorizeAdmin(auth);
    const passwordHash = await this.authz.hashPassword(req.password);
    return this.proposed(auth, stamp, { type: 'userChangePassword', name: req.name, passwordHash }, 'user.changepw', req.name);
  }

  async userGrantRole(req: { user: string; role: string }, auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'userGrantRole', user: req.user, role: req.role }, 'user.grant', req.user, { role: req.role });
  }

  async userRevokeRole(req: { name: string; role: string }, auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'userRevokeRole', name: req.name, role: req.role }, 'user.revoke', req.name, { role: req.role });
  }

  async roleAdd(req: { name: string }, auth?: RequestAuth): Promise<Header> {
    if (req.name === '') throw new AuthError('ROLE_EMPTY');
    return this.change(auth, { type: 'roleAdd', name: req.name }, 'role.add', req.name);
  }

  async roleGet(req: { role: string }, auth?: RequestAuth): Promise<Header & { perm: Permission[] }> {
    await this.host.readBarrier();
    this.authz.authorize(auth, (c, u) => {
      if (!(this.authz.table.getUser(u)?.roles.includes(req.role) ?? false)) c.checkAdmin(u);
    });
    const role = this.authz.table.getRole(req.role);
    if (role === undefined) throw new AuthError('ROLE_NOT_FOUND');
    return { header: this.host.header(), perm: role.perms };
  }

  async roleList(auth?: RequestAuth): Promise<Header & { roles: string[] }> {
    await this.host.readBarrier();
    this.authz.authorizeAdmin(auth);
    return { header: this.host.header(), roles: this.authz.table.listRoles() };
  }

  async roleDelete(req: { role: string }, auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'roleDelete', role: req.role }, 'role.delete', req.role);
  }

  async roleGrantPermission(req: { name: string; perm: Permission }, auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'roleGrantPermission', name: req.name, perm: req.perm }, 'role.grant', req.name, {
      permType: req.perm.permType,
      key: Buffer.from(req.perm.key).toString('base64'),
      rangeEnd: Buffer.from(req.perm.rangeEnd).toString('base64'),
    });
  }

  async roleRevokePermission(req: { role: string; key: Uint8Array; rangeEnd: Uint8Array }, auth?: RequestAuth): Promise<Header> {
    return this.change(auth, { type: 'roleRevokePermission', role: req.role, key: req.key, rangeEnd: req.rangeEnd }, 'role.revoke', req.role, {
      key: Buffer.from(req.key).toString('base64'),
      rangeEnd: Buffer.from(req.rangeEnd).toString('base64'),
    });
  }

  private async change(auth: RequestAuth | undefined, op: AuthOp, action: string, target?: string, extra: object = {}): Promise<Header> {
    return this.proposed(auth, this.authz.authorizeAdmin(auth), op, action, target, extra);
  }

  private async proposed(auth: RequestAuth | undefined, stamp: AuthStamp, op: AuthOp, action: string, target?: string, extra: object = {}): Promise<Header> {
    const who = { action, user: auth?.principal?.user, remote: auth?.remote, ...(target !== undefined ? { target } : {}), ...extra };
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
