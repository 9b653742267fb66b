// Who the client is to the cluster, besides its TLS certificate: a token sent as
// `Authorization: Bearer <token>` on every request (Keyward and etcd read the raw token too), taken
// from a fixed string, from a function called before each request, or obtained by logging in with
// a user name and password (etcd clientv3's Username/Password).
//
// Refresh (only with user and password): a request refused with 401 "etcdserver: invalid auth
// token" — the token expired, or the user's password or roles changed since it was issued — logs in
// again once and is sent again once. That is safe for every request, writes included: the member
// refuses an invalid token at the edge before anything is proposed, and a write whose token was
// found stale at apply time is applied as a refusal (docs/security-plan.md, "Apply-time
// re-check"), so a 401 always means the request had no effect. Concurrent requests that meet the
// same stale token share one login.

export interface BasicAuth {
  user: string;
  password: string;
}

export type TokenSource = string | (() => string | Promise<string>);

export class Credentials {
  private current: Promise<string | undefined> | undefined;

  constructor(
    private readonly token: TokenSource | undefined,
    private readonly auth: BasicAuth | undefined,
    /** Logs in; resolves undefined when the cluster has auth disabled (no token is needed then). */
    private readonly login: (user: string, password: string) => Promise<string | undefined>,
  ) {
    if (token !== undefined && auth !== undefined) throw new TypeError('give either token or auth (user and password), not both');
    if (auth !== undefined && (typeof auth.user !== 'string' || auth.user === '' || typeof auth.password !== 'string')) {
      throw new TypeError('auth needs a non-empty user and a password');
    }
  }

  /** Whether a refused token can be replaced by logging in again. */
  get canRefresh(): boolean {
    return this.auth !== undefined;
  }

  /** The token for the next request, if any. */
  async get(): Promise<string | undefined> {
    if (typeof this.token === 'string') return this.token;
    if (typeof this.token === 'function') return this.token();
    if (this.auth === undefined) return undefined;
    return this.loginOnce();
  }

  /** A fresh token after `stale` was refused (a login, shared by everyone that saw `stale`). */
  async refresh(stale: string | undefined): Promise<string | undefined> {
    if (this.auth === undefined) return stale;
    const now = this.current === undefined ? undefined : await this.current.catch(() => undefined);
    if (this.current !== undefined && now !== stale) return this.loginOnce();
    this.current = undefined;
    return this.loginOnce();
  }

  private loginOnce(): Promise<string | undefined> {
    const auth = this.auth!;
    if (this.current === undefined) {
      const p = this.login(auth.user, auth.password);
      this.current = p;
      // A failed login is not remembered: the next request tries again.
      p.catch(() => {
        if (this.current === p) this.current = undefined;
      });
    }
    return this.current;
  }
}

export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
