// Authorization as the server composes it: the replicated auth table and its checker (src/auth),
// password hashing and tokens at the edge, the stamp each client entry carries into the log, and
// the apply-time guard that re-checks every stamped entry on the state it applies to
// (GUARANTEES A11: the guard reads only replicated state, so every member decides alike).
//
// Rules (docs/security-plan.md, README "Security"):
// - auth disabled: everything is allowed (etcd), and entries are stamped with user "" so that a
//   request admitted while disabled is refused at apply if auth was enabled meanwhile;
// - auth enabled: a request needs a principal (else etcd's "user name is empty"), and the
//   principal's permissions at the current auth revision must allow it;
// - entries the server makes itself (lease expiry, checkpoints, publish, bootstrap) carry no
//   stamp and are never refused;
// - tenant principals (docs/tenancy-plan.md): the user is looked up by (tenant, name) under its
//   internal name "<tenant>\0<name>" (src/auth/names.ts), and the checker fences it to its
//   tenant's keyspace. Admission comes first, at the edge and again at apply, whether auth is on
//   or off: a principal of a tenant that does not exist is refused as a forbidden request
//   (PERMISSION_DENIED, so nobody learns which tenants exist: A21), one of a suspended tenant with
//   TENANT_SUSPENDED ("keyward: tenant is suspended", 403/7). Open watches are re-authorized
//   through authorize after tenant ops, so a suspension also cancels the tenant's watches.
import {
  AuthChecker,
  AuthError,
  AuthTable,
  PasswordHasher,
  RateLimiter,
  TokenService,
  applyAuthOp,
  authOpScope,
  authTokenValid,
  checkPasswordPolicy,
  internalName,
  parseLoginName,
  type AuthOp,
} from '../auth/index.js';
import { LeaseError } from '../lease/index.js';
import { TenantTable } from '../tenants/index.js';
import type { ExternalChange, ExternalRejection } from '../mvcc/index.js';
import type { Storage } from '../storage/index.js';
import type { AuthStamp } from './entry.js';

/** Who is asking, as the api established it (a verified certificate or a verified token). */
export interface Principal {
  user: string;
  /** Absent for a cluster-level user. */
  tenant?: string;
  /**
   * Set when a token named the principal: the auth revision it was issued at. Every later check
   * (an open watch re-checked after an auth change, A8) asks again whether the token still holds,
   * so a password change or deletion ends what the token opened.
   */
  tokenRevision?: number;
}

/** What the api hands the server with each request. */
export interface RequestAuth {
  principal?: Principal;
  /** The client's address, for the audit log and the authenticate rate limit. */
  remote?: string;
}

/** The narrow audit logger (pino's signature). Records never hold a password, hash or token. */
export interface AuditLogger {
  info(obj: object, msg: string): void;
}

export interface AuthManagerOptions {
  tokens: TokenService;
  /** The tenant records admission reads (over the same Storage); a view of its own by default. */
  tenants?: TenantTable;
  audit?: AuditLogger;
  /** Wall-clock milliseconds for the rate limiter. Default Date.now. */
  now?: () => number;
}

/**
 * A check against the checker for one user, named by its INTERNAL name (src/auth/names.ts: a
 * tenant's user is "<tenant>\0<name>"); throws AuthError PERMISSION_DENIED.
 */
export type AuthCheck = (checker: AuthChecker, user: string) => void;

export class AuthManager {
  readonly table: AuthTable;
  readonly checker: AuthChecker;
  readonly tenants: TenantTable;
  readonly hasher = new PasswordHasher();
  private readonly tokens: TokenService;
  private readonly audit: AuditLogger | undefined;
  // Failed attempts per user name (5 at once, then one a second) and per client address (20 at
  // once, then 5 a second: many users may share an address), GUARANTEES A15. Only failures are
  // charged, so a busy application logging in correctly is never throttled; the hasher's bounded
  // concurrency is what keeps successful logins from eating the CPU.
  private readonly perUser: RateLimiter;
  private readonly perRemote: RateLimiter;
  /** userNameOf's answers (null: no user can have the name); a pure function of the principal. */
  private readonly names = new WeakMap<Principal, string | null>();

  constructor(storage: Storage, opts: AuthManagerOptions) {
    this.table = new AuthTable(storage);
    this.checker = new AuthChecker(this.table);
    this.tenants = opts.tenants ?? new TenantTable(storage);
    this.tokens = opts.tokens;
    this.audit = opts.audit;
    const now = opts.now ?? Date.now;
    this.perUser = new RateLimiter({ burst: 5, perSecond: 1, now });
    this.perRemote = new RateLimiter({ burst: 20, perSecond: 5, now });
  }

  get enabled(): boolean {
    return this.table.enabled();
  }

  /**
   * The edge check: throws when the request may not run, else returns the stamp its entry
   * carries (writes) — reads use the same call and ignore the stamp.
   */
  authorize(auth: RequestAuth | undefined, check: AuthCheck): AuthStamp {
    const { revision, enabled } = this.table.state();
    const principal = auth?.principal;
    if (principal?.tenant !== undefined) {
      const refusal = this.admission(principal.tenant);
      if (refusal !== undefined) throw refusal;
    }
    // The tenant rides in the stamp even while auth is off, so apply re-checks admission.
    if (!enabled) return { user: '', tenant: principal?.tenant ?? '', revision };
    if (principal === undefined || principal.user === '') throw new AuthError('USER_EMPTY');
    this.decideFor(principal, check);
    // A token's entry is stamped no later than the token's own revision, so the guard's credential
    // rule below also catches a token revoked after it was issued but before this member applied
    // the revocation (a lagging follower still admits such a token at its edge).
    if (principal.tokenRevision === undefined) return { user: principal.user, tenant: principal.tenant ?? '', revision };
    return { user: principal.user, tenant: principal.tenant ?? '', revision: Math.min(revision, principal.tokenRevision), token: true };
  }

  /**
   * Admission of a tenant principal: undefined when its tenant exists and is active. A tenant
   * that does not exist is refused exactly as a forbidden request (A21).
   */
  admission(tenant: string): AuthError | undefined {
    const rec = this.tenants.get(tenant);
    if (rec === undefined) return new AuthError('PERMISSION_DENIED');
    if (rec.status === 'suspended') return new AuthError('TENANT_SUSPENDED');
    return undefined;
  }

  /** The internal name a principal is looked up by; undefined when no user can have it. */
  userNameOf(principal: Principal): string | undefined {
    // A certificate's principal is one object for all of its connection's requests (api): the
    // name is validated and joined once, and the same string (hash computed once) keys the
    // lookups of the user and its cached permissions. Principals are never mutated.
    let name = this.names.get(principal);
    if (name === undefined) {
      name = internalName(principal.tenant, principal.user) ?? null;
      this.names.set(principal, name);
    }
    return name ?? undefined;
  }

  /** The admin check (role root), as `authorize`. */
  authorizeAdmin(auth: RequestAuth | undefined): AuthStamp {
    return this.authorize(auth, (c, u) => c.checkAdmin(u));
  }

  /**
   * The apply-time guard of a stamped entry: the edge check runs again on the state as applied so
   * far in this batch. Always, not only when the auth revision moved: some checks read replicated
   * state that is not auth state (the keys attached to a lease, for a revoke or a put with a
   * lease), and that may have changed between the edge and apply without the auth revision moving
   * (a key the caller may not write attached to its lease before its revoke in the log). A check
   * is a few binary searches over cached interval sets, so every member re-deciding costs little.
   *
   * Credentials: when the user's password or roles changed, or auth was re-enabled, after the
   * stamp's revision, the entry is refused as `invalid auth token` (A13): the token it came with
   * is dead in the log's order, even if the member that admitted it had not applied the change yet
   * (a lagging follower accepts a token until it applies its revocation, as etcd does). The stamp
   * does not say whether a token or a certificate named the user, so a certificate user's write
   * racing with a change of its own credentials is refused the same way: conservative, rare, and
   * deterministic (etcd refuses every request whose auth revision is old, ErrAuthOldRevision).
   */
  guard(stamp: AuthStamp | undefined, check: AuthCheck): (() => ExternalRejection | undefined) | undefined {
    if (stamp === undefined) return undefined;
    const tenant = stamp.tenant === '' ? undefined : stamp.tenant;
    return () => {
      if (tenant !== undefined) {
        const refusal = this.admission(tenant);
        if (refusal !== undefined) return refusal;
      }
      if (!this.table.enabled()) return undefined;
      if (stamp.user === '') return new AuthError('USER_EMPTY');
      const name = internalName(tenant, stamp.user);
      const user = name === undefined ? undefined : this.table.getUser(name);
      // Only a token dies with its user's credentials; a certificate's request is checked again.
      if (stamp.token === true && user !== undefined && Math.max(user.credentialRevision, this.table.enabledRevision()) > stamp.revision) {
        return new AuthError('INVALID_AUTH_TOKEN');
      }
      try {
        this.decide(name, check);
        return undefined;
      } catch (e) {
        // A check may also refuse a lease the principal's tenant does not own, as a missing lease.
        if (e instanceof AuthError || e instanceof LeaseError) return e;
        throw e;
      }
    };
  }

  private decide(user: string | undefined, check: AuthCheck): void {
    // A principal that names no user (a certificate for a user never created, or deleted since,
    // or a name no record can have) is refused the way a forbidden request is: no difference to
    // learn from (A21).
    if (user === undefined || this.table.getUser(user) === undefined) throw new AuthError('PERMISSION_DENIED');
    check(this.checker, user);
  }

  private decideFor(principal: Principal, check: AuthCheck): void {
    if (
      principal.tokenRevision !== undefined &&
      !authTokenValid(this.table, { user: principal.user, tenant: principal.tenant, revision: principal.tokenRevision })
    ) {
      throw new AuthError('INVALID_AUTH_TOKEN');
    }
    this.decide(this.userNameOf(principal), check);
  }

  /**
   * The check an auth op's entry is guarded by at apply (and, for the same op, what the edge
   * checked): administering the scope the op's names are in — the cluster's root for the cluster,
   * the tenant's administrators (or the cluster's root) for a tenant (src/auth authOpScope).
   */
  opCheck(op: AuthOp): AuthCheck {
    const scope = authOpScope(op);
    return scope === undefined ? (c, u) => c.checkAdmin(u) : (c, u) => c.checkTenantAdmin(u, scope);
  }

  /** An auth op as a change inside mvcc's batch (shares the transaction and the applied index). */
  change(op: AuthOp): ExternalChange {
    return {
      apply: (ctx) => {
        const out = applyAuthOp(this.table, ctx.txn, op, { tenantExists: (id) => this.tenants.get(id) !== undefined });
        return out.ok ? { ok: true, value: undefined } : { ok: false, error: out.error };
      },
    };
  }

  /** A token from a client: the principal it names, or AuthError INVALID_AUTH_TOKEN. */
  async principalFromToken(token: string): Promise<Principal> {
    const claims = await this.tokens.verify(token);
    if (!authTokenValid(this.table, claims)) throw new AuthError('INVALID_AUTH_TOKEN');
    const p: Principal = { user: claims.user, tokenRevision: claims.revision };
    if (claims.tenant !== undefined) p.tenant = claims.tenant;
    return p;
  }

  /**
   * etcd's Authenticate: the same answer and the same work for an unknown user and a wrong
   * password. The caller has passed a linearizable barrier, so a password change acknowledged
   * anywhere is seen here.
   *
   * `login` is etcd's name field: "<tenant>/<name>" logs in tenant <tenant>'s user <name> (etcd
   * clients send only a name and a password), anything without "/" a cluster user (names.ts). The
   * token then carries the tenant (`ten`). A tenant that does not exist answers as an unknown user;
   * a suspended one, once the password is right, TENANT_SUSPENDED.
   */
  async authenticate(login: string, password: string, remote: string | undefined): Promise<string> {
    if (!this.table.enabled()) throw new AuthError('AUTH_NOT_ENABLED');
    const userKey = `u:${login}`;
    const remoteKey = remote !== undefined ? `r:${remote}` : undefined;
    const charge = (): void => {
      this.perUser.take(userKey);
      if (remoteKey !== undefined) this.perRemote.take(remoteKey);
    };
    if (!this.perUser.allowed(userKey) || (remoteKey !== undefined && !this.perRemote.allowed(remoteKey))) {
      this.record({ action: 'authenticate', user: login, remote, outcome: 'rate-limited' });
      throw new AuthError('TOO_MANY_AUTH_REQUESTS');
    }
    const who = parseLoginName(login);
    const name = who === undefined ? undefined : internalName(who.tenant, who.name);
    const lookup = (): ReturnType<AuthTable['getUser']> => (name === undefined ? undefined : this.table.getUser(name));
    const user = lookup();
    if (user?.noPassword === true) {
      charge();
      this.record({ action: 'authenticate', user: login, remote, outcome: 'no-password-user' });
      throw new AuthError('NO_PASSWORD_USER');
    }
    const ok = await this.hasher.verify(user?.passwordHash, password);
    // Re-read after the await: the user may have changed while its hash was checked.
    const now = lookup();
    const refusal = who?.tenant !== undefined ? this.admission(who.tenant) : undefined;
    if (!ok || now === undefined || now.passwordHash !== user?.passwordHash || who === undefined || refusal?.code === 'PERMISSION_DENIED') {
      charge();
      this.record({ action: 'authenticate', user: login, remote, outcome: 'failed' });
      throw new AuthError('AUTH_FAILED');
    }
    if (refusal !== undefined) {
      this.record({ action: 'authenticate', user: login, remote, outcome: 'tenant-suspended' });
      throw refusal;
    }
    this.record({ action: 'authenticate', user: login, remote, outcome: 'ok' });
    const claims = { user: who.name, revision: this.table.revision() };
    return this.tokens.issue(who.tenant !== undefined ? { ...claims, tenant: who.tenant } : claims);
  }

  /** Hashes a new password at the edge (only the hash enters the log), after the policy check. */
  async hashPassword(password: string): Promise<string> {
    checkPasswordPolicy(password);
    return this.hasher.hash(password);
  }

  /** One audit record: who, what, target, outcome, from where. Never secrets. */
  record(fields: { action: string; user?: string | undefined; remote?: string | undefined; outcome: string; [k: string]: unknown }): void {
    this.audit?.info({ audit: true, at: new Date().toISOString(), ...fields }, `audit: ${fields.action} ${fields.outcome}`);
  }
}
