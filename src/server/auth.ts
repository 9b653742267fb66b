// Authorization as the server composes it: the replicated auth table and its checker (src/auth),
// password hashing and tokens at the edge, the stamp each client entry carries into the log, and
// the apply-time guard that re-checks every stamped entry on the state it applies to
// (GUARANTEES A11: the guard reads only replicated state, so every member decides alike).
//
// Rules (docs/security-plan.md, README "Security model"):
// - auth disabled: everything is allowed (etcd), and entries are stamped with user "" so that a
//   request admitted while disabled is refused at apply if auth was enabled meanwhile;
// - auth enabled: a request needs a principal (else etcd's "user name is empty"), and the
//   principal's permissions at the current auth revision must allow it;
// - entries the server makes itself (lease expiry, checkpoints, publish, bootstrap) carry no
//   stamp and are never refused.
import {
  AuthChecker,
  AuthError,
  AuthTable,
  PasswordHasher,
  RateLimiter,
  TokenService,
  applyAuthOp,
  authTokenValid,
  checkPasswordPolicy,
  type AuthOp,
} from '../auth/index.js';
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
  audit?: AuditLogger;
  /** Wall-clock milliseconds for the rate limiter. Default Date.now. */
  now?: () => number;
}

/** A check against the checker for one user; throws AuthError PERMISSION_DENIED. */
export type AuthCheck = (checker: AuthChecker, user: string) => void;

export class AuthManager {
  readonly table: AuthTable;
  readonly checker: AuthChecker;
  readonly hasher = new PasswordHasher();
  private readonly tokens: TokenService;
  private readonly audit: AuditLogger | undefined;
  // Failed attempts per user name (5 at once, then one a second) and per client address (20 at
  // once, then 5 a second: many users may share an address), GUARANTEES A15. Only failures are
  // charged, so a busy application logging in correctly is never throttled; the hasher's bounded
  // concurrency is what keeps successful logins from eating the CPU.
  private readonly perUser: RateLimiter;
  private readonly perRemote: RateLimiter;

  constructor(storage: Storage, opts: AuthManagerOptions) {
    this.table = new AuthTable(storage);
    this.checker = new AuthChecker(this.table);
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
    const revision = this.table.revision();
    if (!this.table.enabled()) return { user: '', tenant: '', revision };
    const principal = auth?.principal;
    if (principal === undefined || principal.user === '') throw new AuthError('USER_EMPTY');
    this.decideFor(principal, check);
    // A token's entry is stamped no later than the token's own revision, so the guard's credential
    // rule below also catches a token revoked after it was issued but before this member applied
    // the revocation (a lagging follower still admits such a token at its edge).
    const stamped = principal.tokenRevision !== undefined ? Math.min(revision, principal.tokenRevision) : revision;
    return { user: principal.user, tenant: principal.tenant ?? '', revision: stamped };
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
    return () => {
      if (!this.table.enabled()) return undefined;
      if (stamp.user === '') return new AuthError('USER_EMPTY');
      const user = this.table.getUser(stamp.user);
      if (user !== undefined && Math.max(user.credentialRevision, this.table.enabledRevision()) > stamp.revision) {
        return new AuthError('INVALID_AUTH_TOKEN');
      }
      try {
        this.decide(stamp.user, check);
        return undefined;
      } catch (e) {
        if (e instanceof AuthError) return e;
        throw e;
      }
    };
  }

  private decide(user: string, check: AuthCheck): void {
    // A principal that names no user (a certificate for a user never created, or deleted since)
    // is refused the way a forbidden request is: no difference to learn from (A21).
    if (this.table.getUser(user) === undefined) throw new AuthError('PERMISSION_DENIED');
    check(this.checker, user);
  }

  private decideFor(principal: Principal, check: AuthCheck): void {
    if (principal.tokenRevision !== undefined && !authTokenValid(this.table, { user: principal.user, revision: principal.tokenRevision })) {
      throw new AuthError('INVALID_AUTH_TOKEN');
    }
    this.decide(principal.user, check);
  }

  /** An auth op as a change inside mvcc's batch (shares the transaction and the applied index). */
  change(op: AuthOp): ExternalChange {
    return {
      apply: (ctx) => {
        const out = applyAuthOp(this.table, ctx.txn, op);
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
   */
  async authenticate(name: string, password: string, remote: string | undefined): Promise<string> {
    if (!this.table.enabled()) throw new AuthError('AUTH_NOT_ENABLED');
    const userKey = `u:${name}`;
    const remoteKey = remote !== undefined ? `r:${remote}` : undefined;
    const charge = (): void => {
      this.perUser.take(userKey);
      if (remoteKey !== undefined) this.perRemote.take(remoteKey);
    };
    if (!this.perUser.allowed(userKey) || (remoteKey !== undefined && !this.perRemote.allowed(remoteKey))) {
      this.record({ action: 'authenticate', user: name, remote, outcome: 'rate-limited' });
      throw new AuthError('TOO_MANY_AUTH_REQUESTS');
    }
    const user = this.table.getUser(name);
    if (user?.noPassword === true) {
      charge();
      this.record({ action: 'authenticate', user: name, remote, outcome: 'no-password-user' });
      throw new AuthError('NO_PASSWORD_USER');
    }
    const ok = await this.hasher.verify(user?.passwordHash, password);
    // Re-read after the await: the user may have changed while its hash was checked.
    const now = this.table.getUser(name);
    if (!ok || now === undefined || now.passwordHash !== user?.passwordHash) {
      charge();
      this.record({ action: 'authenticate', user: name, remote, outcome: 'failed' });
      throw new AuthError('AUTH_FAILED');
    }
    this.record({ action: 'authenticate', user: name, remote, outcome: 'ok' });
    return this.tokens.issue({ user: name, revision: this.table.revision() });
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
