import {
  AuthPath,
  bytesFromString,
  decodeAuthenticateResponse,
  decodeAuthHeaderResponse,
  decodeAuthRoleGetResponse,
  decodeAuthRoleListResponse,
  decodeAuthStatusResponse,
  decodeAuthUserGetResponse,
  decodeAuthUserListResponse,
  encodeAuthenticateRequest,
  encodeAuthRoleAddRequest,
  encodeAuthRoleDeleteRequest,
  encodeAuthRoleGetRequest,
  encodeAuthRoleGrantPermissionRequest,
  encodeAuthRoleRevokePermissionRequest,
  encodeAuthUserAddRequest,
  encodeAuthUserChangePasswordRequest,
  encodeAuthUserDeleteRequest,
  encodeAuthUserGetRequest,
  encodeAuthUserGrantRoleRequest,
  encodeAuthUserRevokeRoleRequest,
  type AuthHeaderResponse,
  type AuthRoleGetResponse,
  type AuthRoleListResponse,
  type AuthStatusResponse,
  type AuthUserGetResponse,
  type AuthUserListResponse,
  type PermType,
  type JsonObject,
} from '../wire/index.js';
import { HttpTransport, type ClientOptions } from './http.js';

// etcd's auth API over the v3 JSON gateway (etcd clientv3's Auth): authenticate, enable/disable,
// status, and user and role management. Errors are KeywardErrors typed by etcd's message (http.ts):
// e.g. code 'USER_NOT_FOUND', grpcCode 9, httpStatus 412.
//
// Only reads (status, get, list) and authenticate (which changes no state) fail over between
// endpoints; every management call is a raft write and is sent to one endpoint only, since a call
// that timed out may have been applied (GUARANTEES L15). The token a call runs under comes from the
// ClientOptions the client was built with (`token`, or `auth` to log in and refresh; http.ts).

/** A key or range bound: bytes, or a string taken as UTF-8. */
export type KeyInput = Uint8Array | string;

/** A permission to grant. `rangeEnd` omitted or empty = the single key; `"\0"` = open-ended. */
export interface PermissionInput {
  permType: PermType;
  key: KeyInput;
  rangeEnd?: KeyInput;
}

const toBytes = (k: KeyInput | undefined): Uint8Array => (k === undefined ? new Uint8Array(0) : typeof k === 'string' ? bytesFromString(k) : k);

export interface AuthClientOptions extends ClientOptions {
  /**
   * Manage the users and roles of this tenant instead of the caller's own scope (Keyward's `tenant`
   * field of auth requests: a cluster administrator managing a tenant). Names and permission keys
   * are then the tenant's (keys relative to its root). Enable, disable and status are cluster-wide.
   */
  tenant?: string;
}

export class AuthClient {
  private readonly http: HttpTransport;
  private readonly tenant: string | undefined;

  constructor(opts: AuthClientOptions) {
    this.http = new HttpTransport(opts);
    this.tenant = opts.tenant;
  }

  /** A request body in this client's scope: Keyward's `tenant` field (etcd ignores unknown fields). */
  private scoped(req: JsonObject): JsonObject {
    return this.tenant === undefined || this.tenant === '' ? req : { ...req, tenant: this.tenant };
  }

  /** Logs in; returns the token to send as `Authorization` (the `token` client option). Sends no token itself. */
  async authenticate(name: string, password: string): Promise<string> {
    const req = encodeAuthenticateRequest({ name, password });
    const res = decodeAuthenticateResponse(await this.http.call(AuthPath.AUTHENTICATE, req, true, undefined, { anonymous: true }));
    return res.token;
  }

  async enable(): Promise<AuthHeaderResponse> {
    return decodeAuthHeaderResponse(await this.http.call(AuthPath.ENABLE, {}, false));
  }

  async disable(): Promise<AuthHeaderResponse> {
    return decodeAuthHeaderResponse(await this.http.call(AuthPath.DISABLE, {}, false));
  }

  /** etcd 3.5's AuthStatus: whether auth is enabled and the auth store's revision. */
  async status(): Promise<AuthStatusResponse> {
    return decodeAuthStatusResponse(await this.http.call(AuthPath.STATUS, {}, true));
  }

  /** `{ noPassword: true }` makes a user that can only authenticate by client certificate. */
  async userAdd(name: string, password: string | { noPassword: true }): Promise<AuthHeaderResponse> {
    const req = typeof password === 'string' ? { name, password, noPassword: false } : { name, password: '', noPassword: password.noPassword };
    return this.write(AuthPath.USER_ADD, encodeAuthUserAddRequest(req));
  }

  async userGet(name: string): Promise<AuthUserGetResponse> {
    return decodeAuthUserGetResponse(await this.http.call(AuthPath.USER_GET, this.scoped(encodeAuthUserGetRequest({ name })), true));
  }

  async userList(): Promise<AuthUserListResponse> {
    return decodeAuthUserListResponse(await this.http.call(AuthPath.USER_LIST, this.scoped({}), true));
  }

  async userDelete(name: string): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.USER_DELETE, encodeAuthUserDeleteRequest({ name }));
  }

  async userChangePassword(name: string, password: string): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.USER_CHANGE_PASSWORD, encodeAuthUserChangePasswordRequest({ name, password }));
  }

  async userGrantRole(user: string, role: string): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.USER_GRANT_ROLE, encodeAuthUserGrantRoleRequest({ user, role }));
  }

  async userRevokeRole(user: string, role: string): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.USER_REVOKE_ROLE, encodeAuthUserRevokeRoleRequest({ name: user, role }));
  }

  async roleAdd(name: string): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.ROLE_ADD, encodeAuthRoleAddRequest({ name }));
  }

  async roleGet(role: string): Promise<AuthRoleGetResponse> {
    return decodeAuthRoleGetResponse(await this.http.call(AuthPath.ROLE_GET, this.scoped(encodeAuthRoleGetRequest({ role })), true));
  }

  async roleList(): Promise<AuthRoleListResponse> {
    return decodeAuthRoleListResponse(await this.http.call(AuthPath.ROLE_LIST, this.scoped({}), true));
  }

  async roleDelete(role: string): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.ROLE_DELETE, encodeAuthRoleDeleteRequest({ role }));
  }

  /** Re-granting the same (key, rangeEnd) replaces its type (etcd). */
  async roleGrantPermission(role: string, perm: PermissionInput): Promise<AuthHeaderResponse> {
    const p = { permType: perm.permType, key: toBytes(perm.key), rangeEnd: toBytes(perm.rangeEnd) };
    return this.write(AuthPath.ROLE_GRANT_PERMISSION, encodeAuthRoleGrantPermissionRequest({ name: role, perm: p }));
  }

  /** Needs the exact (key, rangeEnd) that was granted. */
  async roleRevokePermission(role: string, key: KeyInput, rangeEnd?: KeyInput): Promise<AuthHeaderResponse> {
    return this.write(AuthPath.ROLE_REVOKE_PERMISSION, encodeAuthRoleRevokePermissionRequest({ role, key: toBytes(key), rangeEnd: toBytes(rangeEnd) }));
  }

  /** A management call in this client's scope. */
  private async write(path: string, body: JsonObject): Promise<AuthHeaderResponse> {
    return decodeAuthHeaderResponse(await this.http.call(path, this.scoped(body), false));
  }
}
