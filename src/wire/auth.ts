// The auth API (etcdserverpb.Auth: /v3/auth/*) as field tables, like lease.ts and cluster.ts. Both
// directions exist for every message, so the server and the TypeScript client read and write them
// with the same tables. Field order is the proto field-number order of etcd 3.4's rpc.proto and
// auth.proto; AuthStatus is etcd 3.5's (3.4's gateway answers 404 for /v3/auth/status).
//
// The request field names are not uniform in etcd and are kept as they are (API.md section 10):
// user/grant takes `user`, user/revoke takes `name`; role/get, role/delete and role/revoke take
// `role`, role/grant takes `name`. A misspelt field is an unknown field and so silently empty, as in
// etcd (`{"name":…}` to user/grant names the user "").
//
// Passwords: the only codec that sees one is `string`, whose errors name the JSON kind and never the
// value, so no error text from here can carry a password.

import { ResponseHeaderCodec } from './codec.js';
import { DecodeError } from './decode-error.js';
import type { JsonObject } from './json.js';
import type { Bytes, ResponseHeader } from './messages.js';
import { bool, bytes, enumeration, message, optional, repeated, string, transform, uint64, type Codec, type MessageCodec } from './schema.js';

// ---------------------------------------------------------------------------------------------
// Permissions

/** authpb.Permission_Type by name; READ is the proto default (0) and so is never written. */
export type PermType = 'READ' | 'WRITE' | 'READWRITE';

/** The numbers of authpb.Permission_Type: the wire accepts them in place of the names. */
export const PermTypeNumber = { READ: 0, WRITE: 1, READWRITE: 2 } as const satisfies Record<PermType, number>;
type PermTypeNumber = (typeof PermTypeNumber)[PermType];

/**
 * One granted interval: `[key, rangeEnd)`, a single key when `rangeEnd` is empty, open-ended when it
 * is `[0x00]` (etcd's convention). Structurally the same as src/auth's Permission.
 */
export interface Permission {
  permType: PermType;
  key: Bytes;
  rangeEnd: Bytes;
}

const PERM_NAMES: readonly PermType[] = ['READ', 'WRITE', 'READWRITE'];

/**
 * Names in and out; numbers 0-2 accepted on input. Unlike etcd, numbers beyond the enum are refused
 * (etcd stores them and lists `"permType":7`, a permission no check ever matches).
 */
const permTypeCodec: Codec<PermType> = transform(
  enumeration<PermTypeNumber>('authpb.Permission_Type', PermTypeNumber),
  (n) => PERM_NAMES[n] as PermType,
  (t) => PermTypeNumber[t],
);

export const PermissionCodec = message<Permission>('authpb.Permission', {
  permType: ['permType', permTypeCodec],
  key: ['key', bytes],
  rangeEnd: ['range_end', bytes],
});

// ---------------------------------------------------------------------------------------------
// Decoded forms. As in messages.ts, every field is present after decoding, holding its proto
// default when the JSON left it out.

export type AuthEnableRequest = Record<string, never>;
export type AuthDisableRequest = Record<string, never>;
export type AuthStatusRequest = Record<string, never>;
export type AuthUserListRequest = Record<string, never>;
export type AuthRoleListRequest = Record<string, never>;

/** The answer of every auth RPC that returns nothing beyond the header. */
export interface AuthHeaderResponse {
  header: ResponseHeader;
}
export type AuthEnableResponse = AuthHeaderResponse;
export type AuthDisableResponse = AuthHeaderResponse;
export type AuthUserAddResponse = AuthHeaderResponse;
export type AuthUserDeleteResponse = AuthHeaderResponse;
export type AuthUserChangePasswordResponse = AuthHeaderResponse;
export type AuthUserGrantRoleResponse = AuthHeaderResponse;
export type AuthUserRevokeRoleResponse = AuthHeaderResponse;
export type AuthRoleAddResponse = AuthHeaderResponse;
export type AuthRoleDeleteResponse = AuthHeaderResponse;
export type AuthRoleGrantPermissionResponse = AuthHeaderResponse;
export type AuthRoleRevokePermissionResponse = AuthHeaderResponse;

/** etcd 3.5's AuthStatusResponse. */
export interface AuthStatusResponse {
  header: ResponseHeader;
  enabled: boolean;
  /** The auth store's revision: +1 per applied auth change. */
  authRevision: number;
}

export interface AuthenticateRequest {
  name: string;
  password: string;
}

export interface AuthenticateResponse {
  header: ResponseHeader;
  token: string;
}

/**
 * `options.no_password` flattened. etcd 3.5's `hashedPassword` (field 4) is not read: it is an
 * unknown field here, as in 3.4, so a client cannot choose the hash the server stores.
 */
export interface AuthUserAddRequest {
  name: string;
  password: string;
  noPassword: boolean;
}

export interface AuthUserGetRequest {
  name: string;
}

export interface AuthUserGetResponse {
  header: ResponseHeader;
  /** Sorted, as etcd keeps them. */
  roles: string[];
}

export interface AuthUserListResponse {
  header: ResponseHeader;
  /** Sorted. */
  users: string[];
}

export interface AuthUserDeleteRequest {
  name: string;
}

export interface AuthUserChangePasswordRequest {
  name: string;
  password: string;
}

/** Note `user`, not `name` (etcd's proto). */
export interface AuthUserGrantRoleRequest {
  user: string;
  role: string;
}

/** Note `name`, not `user` (etcd's proto). */
export interface AuthUserRevokeRoleRequest {
  name: string;
  role: string;
}

export interface AuthRoleAddRequest {
  name: string;
}

export interface AuthRoleGetRequest {
  role: string;
}

export interface AuthRoleGetResponse {
  header: ResponseHeader;
  /** Sorted by key, as etcd lists them. Role `root` lists none. */
  perm: Permission[];
}

export interface AuthRoleListResponse {
  header: ResponseHeader;
  /** Sorted. */
  roles: string[];
}

export interface AuthRoleDeleteRequest {
  role: string;
}

/**
 * `perm` is required: etcd 3.4 accepts a request without it (or with `"perm":null`) and then
 * panics in its apply loop on every start (API.md section 12), so Keyward refuses it at decode.
 */
export interface AuthRoleGrantPermissionRequest {
  name: string;
  perm: Permission;
}

export interface AuthRoleRevokePermissionRequest {
  role: string;
  key: Bytes;
  rangeEnd: Bytes;
}

/** The HTTP paths of the auth RPCs, as etcd's gateway binds them (rpc.proto annotations). */
export const AuthPath = {
  ENABLE: '/v3/auth/enable',
  DISABLE: '/v3/auth/disable',
  STATUS: '/v3/auth/status',
  AUTHENTICATE: '/v3/auth/authenticate',
  USER_ADD: '/v3/auth/user/add',
  USER_GET: '/v3/auth/user/get',
  USER_LIST: '/v3/auth/user/list',
  USER_DELETE: '/v3/auth/user/delete',
  USER_CHANGE_PASSWORD: '/v3/auth/user/changepw',
  USER_GRANT_ROLE: '/v3/auth/user/grant',
  USER_REVOKE_ROLE: '/v3/auth/user/revoke',
  ROLE_ADD: '/v3/auth/role/add',
  ROLE_GET: '/v3/auth/role/get',
  ROLE_LIST: '/v3/auth/role/list',
  ROLE_DELETE: '/v3/auth/role/delete',
  ROLE_GRANT_PERMISSION: '/v3/auth/role/grant',
  ROLE_REVOKE_PERMISSION: '/v3/auth/role/revoke',
} as const;
export type AuthPath = (typeof AuthPath)[keyof typeof AuthPath];

// ---------------------------------------------------------------------------------------------
// Tables

type Empty = Record<string, never>;
const empty = (goName: string): MessageCodec<Empty> => message<Empty>(goName, {});
const headerOnly = (goName: string): MessageCodec<AuthHeaderResponse> =>
  message<AuthHeaderResponse>(goName, { header: ['header', ResponseHeaderCodec] });
const names = repeated(string);

export const AuthEnableRequestCodec = empty('etcdserverpb.AuthEnableRequest');
export const AuthEnableResponseCodec = headerOnly('etcdserverpb.AuthEnableResponse');
export const AuthDisableRequestCodec = empty('etcdserverpb.AuthDisableRequest');
export const AuthDisableResponseCodec = headerOnly('etcdserverpb.AuthDisableResponse');
export const AuthStatusRequestCodec = empty('etcdserverpb.AuthStatusRequest');
export const AuthStatusResponseCodec = message<AuthStatusResponse>('etcdserverpb.AuthStatusResponse', {
  header: ['header', ResponseHeaderCodec],
  enabled: ['enabled', bool],
  authRevision: ['authRevision', uint64],
});

export const AuthenticateRequestCodec = message<AuthenticateRequest>('etcdserverpb.AuthenticateRequest', {
  name: ['name', string],
  password: ['password', string],
});
export const AuthenticateResponseCodec = message<AuthenticateResponse>('etcdserverpb.AuthenticateResponse', {
  header: ['header', ResponseHeaderCodec],
  token: ['token', string],
});

interface UserAddOptions {
  noPassword: boolean;
}
const UserAddOptionsCodec = message<UserAddOptions>('authpb.UserAddOptions', { noPassword: ['no_password', bool] });
interface UserAddWire {
  name: string;
  password: string;
  options: UserAddOptions | undefined;
}
const UserAddWireCodec = message<UserAddWire>('etcdserverpb.AuthUserAddRequest', {
  name: ['name', string],
  password: ['password', string],
  options: ['options', optional(UserAddOptionsCodec)],
});
/** Written with `options` only for a no-password user, so a plain add is `{name,password}`. */
export const AuthUserAddRequestCodec: Codec<AuthUserAddRequest> = transform(
  UserAddWireCodec,
  (w) => ({ name: w.name, password: w.password, noPassword: w.options?.noPassword ?? false }),
  (r) => ({ name: r.name, password: r.password, options: r.noPassword ? { noPassword: true } : undefined }),
);
export const AuthUserAddResponseCodec = headerOnly('etcdserverpb.AuthUserAddResponse');

export const AuthUserGetRequestCodec = message<AuthUserGetRequest>('etcdserverpb.AuthUserGetRequest', { name: ['name', string] });
export const AuthUserGetResponseCodec = message<AuthUserGetResponse>('etcdserverpb.AuthUserGetResponse', {
  header: ['header', ResponseHeaderCodec],
  roles: ['roles', names],
});

export const AuthUserListRequestCodec = empty('etcdserverpb.AuthUserListRequest');
export const AuthUserListResponseCodec = message<AuthUserListResponse>('etcdserverpb.AuthUserListResponse', {
  header: ['header', ResponseHeaderCodec],
  users: ['users', names],
});

export const AuthUserDeleteRequestCodec = message<AuthUserDeleteRequest>('etcdserverpb.AuthUserDeleteRequest', {
  name: ['name', string],
});
export const AuthUserDeleteResponseCodec = headerOnly('etcdserverpb.AuthUserDeleteResponse');

export const AuthUserChangePasswordRequestCodec = message<AuthUserChangePasswordRequest>('etcdserverpb.AuthUserChangePasswordRequest', {
  name: ['name', string],
  password: ['password', string],
});
export const AuthUserChangePasswordResponseCodec = headerOnly('etcdserverpb.AuthUserChangePasswordResponse');

export const AuthUserGrantRoleRequestCodec = message<AuthUserGrantRoleRequest>('etcdserverpb.AuthUserGrantRoleRequest', {
  user: ['user', string],
  role: ['role', string],
});
export const AuthUserGrantRoleResponseCodec = headerOnly('etcdserverpb.AuthUserGrantRoleResponse');

export const AuthUserRevokeRoleRequestCodec = message<AuthUserRevokeRoleRequest>('etcdserverpb.AuthUserRevokeRoleRequest', {
  name: ['name', string],
  role: ['role', string],
});
export const AuthUserRevokeRoleResponseCodec = headerOnly('etcdserverpb.AuthUserRevokeRoleResponse');

export const AuthRoleAddRequestCodec = message<AuthRoleAddRequest>('etcdserverpb.AuthRoleAddRequest', { name: ['name', string] });
export const AuthRoleAddResponseCodec = headerOnly('etcdserverpb.AuthRoleAddResponse');

export const AuthRoleGetRequestCodec = message<AuthRoleGetRequest>('etcdserverpb.AuthRoleGetRequest', { role: ['role', string] });
export const AuthRoleGetResponseCodec = message<AuthRoleGetResponse>('etcdserverpb.AuthRoleGetResponse', {
  header: ['header', ResponseHeaderCodec],
  perm: ['perm', repeated(PermissionCodec)],
});

export const AuthRoleListRequestCodec = empty('etcdserverpb.AuthRoleListRequest');
export const AuthRoleListResponseCodec = message<AuthRoleListResponse>('etcdserverpb.AuthRoleListResponse', {
  header: ['header', ResponseHeaderCodec],
  roles: ['roles', names],
});

export const AuthRoleDeleteRequestCodec = message<AuthRoleDeleteRequest>('etcdserverpb.AuthRoleDeleteRequest', { role: ['role', string] });
export const AuthRoleDeleteResponseCodec = headerOnly('etcdserverpb.AuthRoleDeleteResponse');

interface GrantWire {
  name: string;
  perm: Permission | undefined;
}
const GrantWireCodec = message<GrantWire>('etcdserverpb.AuthRoleGrantPermissionRequest', {
  name: ['name', string],
  perm: ['perm', optional(PermissionCodec)],
});
export const AuthRoleGrantPermissionRequestCodec: Codec<AuthRoleGrantPermissionRequest> = transform(
  GrantWireCodec,
  (w) => {
    if (w.perm === undefined) throw new DecodeError('SHAPE', 'keyward: perm is not provided', 'perm');
    return { name: w.name, perm: w.perm };
  },
  (r) => ({ name: r.name, perm: r.perm }),
);
export const AuthRoleGrantPermissionResponseCodec = headerOnly('etcdserverpb.AuthRoleGrantPermissionResponse');

export const AuthRoleRevokePermissionRequestCodec = message<AuthRoleRevokePermissionRequest>('etcdserverpb.AuthRoleRevokePermissionRequest', {
  role: ['role', string],
  key: ['key', bytes],
  rangeEnd: ['range_end', bytes],
});
export const AuthRoleRevokePermissionResponseCodec = headerOnly('etcdserverpb.AuthRoleRevokePermissionResponse');

// A transformed codec over a message: decoded at depth 1 as a body is (the message under it reads
// null as the empty message), and its encoding is that message's JSON object.
const body = <T>(c: Codec<T>, json: unknown): T => c.decode(json, 1);
const object = <T>(c: Codec<T>, value: T): JsonObject => c.encode(value) as JsonObject;

// ---------------------------------------------------------------------------------------------
// Server side: requests in (from parseJsonBody), responses out as JSON text.

export function decodeAuthEnableRequest(json: unknown): AuthEnableRequest {
  return AuthEnableRequestCodec.decode(json);
}
export function decodeAuthDisableRequest(json: unknown): AuthDisableRequest {
  return AuthDisableRequestCodec.decode(json);
}
export function decodeAuthStatusRequest(json: unknown): AuthStatusRequest {
  return AuthStatusRequestCodec.decode(json);
}
export function decodeAuthenticateRequest(json: unknown): AuthenticateRequest {
  return AuthenticateRequestCodec.decode(json);
}
export function decodeAuthUserAddRequest(json: unknown): AuthUserAddRequest {
  return body(AuthUserAddRequestCodec, json);
}
export function decodeAuthUserGetRequest(json: unknown): AuthUserGetRequest {
  return AuthUserGetRequestCodec.decode(json);
}
export function decodeAuthUserListRequest(json: unknown): AuthUserListRequest {
  return AuthUserListRequestCodec.decode(json);
}
export function decodeAuthUserDeleteRequest(json: unknown): AuthUserDeleteRequest {
  return AuthUserDeleteRequestCodec.decode(json);
}
export function decodeAuthUserChangePasswordRequest(json: unknown): AuthUserChangePasswordRequest {
  return AuthUserChangePasswordRequestCodec.decode(json);
}
export function decodeAuthUserGrantRoleRequest(json: unknown): AuthUserGrantRoleRequest {
  return AuthUserGrantRoleRequestCodec.decode(json);
}
export function decodeAuthUserRevokeRoleRequest(json: unknown): AuthUserRevokeRoleRequest {
  return AuthUserRevokeRoleRequestCodec.decode(json);
}
export function decodeAuthRoleAddRequest(json: unknown): AuthRoleAddRequest {
  return AuthRoleAddRequestCodec.decode(json);
}
export function decodeAuthRoleGetRequest(json: unknown): AuthRoleGetRequest {
  return AuthRoleGetRequestCodec.decode(json);
}
export function decodeAuthRoleListRequest(json: unknown): AuthRoleListRequest {
  return AuthRoleListRequestCodec.decode(json);
}
export function decodeAuthRoleDeleteRequest(json: unknown): AuthRoleDeleteRequest {
  return AuthRoleDeleteRequestCodec.decode(json);
}
/** Throws DecodeError SHAPE (field `perm`) when `perm` is absent or null. */
export function decodeAuthRoleGrantPermissionRequest(json: unknown): AuthRoleGrantPermissionRequest {
  return body(AuthRoleGrantPermissionRequestCodec, json);
}
export function decodeAuthRoleRevokePermissionRequest(json: unknown): AuthRoleRevokePermissionRequest {
  return AuthRoleRevokePermissionRequestCodec.decode(json);
}

export function encodeAuthEnableResponseText(res: AuthEnableResponse): string {
  return AuthEnableResponseCodec.write(res);
}
export function encodeAuthDisableResponseText(res: AuthDisableResponse): string {
  return AuthDisableResponseCodec.write(res);
}
export function encodeAuthStatusResponseText(res: AuthStatusResponse): string {
  return AuthStatusResponseCodec.write(res);
}
export function encodeAuthenticateResponseText(res: AuthenticateResponse): string {
  return AuthenticateResponseCodec.write(res);
}
export function encodeAuthUserAddResponseText(res: AuthUserAddResponse): string {
  return AuthUserAddResponseCodec.write(res);
}
export function encodeAuthUserGetResponseText(res: AuthUserGetResponse): string {
  return AuthUserGetResponseCodec.write(res);
}
export function encodeAuthUserListResponseText(res: AuthUserListResponse): string {
  return AuthUserListResponseCodec.write(res);
}
export function encodeAuthUserDeleteResponseText(res: AuthUserDeleteResponse): string {
  return AuthUserDeleteResponseCodec.write(res);
}
export function encodeAuthUserChangePasswordResponseText(res: AuthUserChangePasswordResponse): string {
  return AuthUserChangePasswordResponseCodec.write(res);
}
export function encodeAuthUserGrantRoleResponseText(res: AuthUserGrantRoleResponse): string {
  return AuthUserGrantRoleResponseCodec.write(res);
}
export function encodeAuthUserRevokeRoleResponseText(res: AuthUserRevokeRoleResponse): string {
  return AuthUserRevokeRoleResponseCodec.write(res);
}
export function encodeAuthRoleAddResponseText(res: AuthRoleAddResponse): string {
  return AuthRoleAddResponseCodec.write(res);
}
export function encodeAuthRoleGetResponseText(res: AuthRoleGetResponse): string {
  return AuthRoleGetResponseCodec.write(res);
}
export function encodeAuthRoleListResponseText(res: AuthRoleListResponse): string {
  return AuthRoleListResponseCodec.write(res);
}
export function encodeAuthRoleDeleteResponseText(res: AuthRoleDeleteResponse): string {
  return AuthRoleDeleteResponseCodec.write(res);
}
export function encodeAuthRoleGrantPermissionResponseText(res: AuthRoleGrantPermissionResponse): string {
  return AuthRoleGrantPermissionResponseCodec.write(res);
}
export function encodeAuthRoleRevokePermissionResponseText(res: AuthRoleRevokePermissionResponse): string {
  return AuthRoleRevokePermissionResponseCodec.write(res);
}

// As JSON objects (for the CLI's `-w json` and tests). Always equal to JSON.parse of the text.

/** Every header-only auth response (enable, disable, user add/delete/changepw/grant/revoke, role add/delete/grant/revoke). */
export function encodeAuthHeaderResponse(res: AuthHeaderResponse): JsonObject {
  return AuthEnableResponseCodec.encode(res);
}
export function encodeAuthStatusResponse(res: AuthStatusResponse): JsonObject {
  return AuthStatusResponseCodec.encode(res);
}
export function encodeAuthenticateResponse(res: AuthenticateResponse): JsonObject {
  return AuthenticateResponseCodec.encode(res);
}
export function encodeAuthUserGetResponse(res: AuthUserGetResponse): JsonObject {
  return AuthUserGetResponseCodec.encode(res);
}
export function encodeAuthUserListResponse(res: AuthUserListResponse): JsonObject {
  return AuthUserListResponseCodec.encode(res);
}
export function encodeAuthRoleGetResponse(res: AuthRoleGetResponse): JsonObject {
  return AuthRoleGetResponseCodec.encode(res);
}
export function encodeAuthRoleListResponse(res: AuthRoleListResponse): JsonObject {
  return AuthRoleListResponseCodec.encode(res);
}
export function encodePermission(perm: Permission): JsonObject {
  return PermissionCodec.encode(perm);
}

// ---------------------------------------------------------------------------------------------
// Keyward's extension: the scope of an auth request.
//
// Every /v3/auth/* request except enable, disable and status may carry `"tenant": "<id>"`: the
// names (and a grant's keys) are then those of tenant <id>'s users and roles. A cluster
// administrator uses it to manage a tenant; a tenant principal's calls are in its own tenant
// anyway (the field may name that tenant and no other). Empty or absent = the caller's own scope.
// etcd's decoders ignore the field (unknown fields are skipped), so it is read on its own.

export const AUTH_TENANT_FIELD = 'tenant';

/** The `tenant` of an auth request body; undefined when absent, null or "". DecodeError TYPE otherwise. */
export function decodeAuthTenant(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const v = (json as Record<string, unknown>)[AUTH_TENANT_FIELD];
  if (v === undefined || v === null) return undefined;
  let t: string;
  try {
    t = string.decode(v, 2);
  } catch (e) {
    throw e instanceof DecodeError ? e.within(AUTH_TENANT_FIELD) : e;
  }
  return t === '' ? undefined : t;
}

/** `req` with the scope added (client side); unchanged for the caller's own scope. */
export function withAuthTenant(req: JsonObject, tenant: string | undefined): JsonObject {
  return tenant === undefined || tenant === '' ? req : { ...req, [AUTH_TENANT_FIELD]: tenant };
}

// ---------------------------------------------------------------------------------------------
// Client side: requests out, responses in.

export function encodeAuthenticateRequest(req: AuthenticateRequest): JsonObject {
  return AuthenticateRequestCodec.encode(req);
}
export function encodeAuthUserAddRequest(req: AuthUserAddRequest): JsonObject {
  return object(AuthUserAddRequestCodec, req);
}
export function encodeAuthUserGetRequest(req: AuthUserGetRequest): JsonObject {
  return AuthUserGetRequestCodec.encode(req);
}
export function encodeAuthUserDeleteRequest(req: AuthUserDeleteRequest): JsonObject {
  return AuthUserDeleteRequestCodec.encode(req);
}
export function encodeAuthUserChangePasswordRequest(req: AuthUserChangePasswordRequest): JsonObject {
  return AuthUserChangePasswordRequestCodec.encode(req);
}
export function encodeAuthUserGrantRoleRequest(req: AuthUserGrantRoleRequest): JsonObject {
  return AuthUserGrantRoleRequestCodec.encode(req);
}
export function encodeAuthUserRevokeRoleRequest(req: AuthUserRevokeRoleRequest): JsonObject {
  return AuthUserRevokeRoleRequestCodec.encode(req);
}
export function encodeAuthRoleAddRequest(req: AuthRoleAddRequest): JsonObject {
  return AuthRoleAddRequestCodec.encode(req);
}
export function encodeAuthRoleGetRequest(req: AuthRoleGetRequest): JsonObject {
  return AuthRoleGetRequestCodec.encode(req);
}
export function encodeAuthRoleDeleteRequest(req: AuthRoleDeleteRequest): JsonObject {
  return AuthRoleDeleteRequestCodec.encode(req);
}
export function encodeAuthRoleGrantPermissionRequest(req: AuthRoleGrantPermissionRequest): JsonObject {
  return object(AuthRoleGrantPermissionRequestCodec, req);
}
export function encodeAuthRoleRevokePermissionRequest(req: AuthRoleRevokePermissionRequest): JsonObject {
  return AuthRoleRevokePermissionRequestCodec.encode(req);
}

/** Any header-only auth response. */
export function decodeAuthHeaderResponse(json: unknown): AuthHeaderResponse {
  return AuthEnableResponseCodec.decode(json);
}
export function decodeAuthStatusResponse(json: unknown): AuthStatusResponse {
  return AuthStatusResponseCodec.decode(json);
}
export function decodeAuthenticateResponse(json: unknown): AuthenticateResponse {
  return AuthenticateResponseCodec.decode(json);
}
export function decodeAuthUserGetResponse(json: unknown): AuthUserGetResponse {
  return AuthUserGetResponseCodec.decode(json);
}
export function decodeAuthUserListResponse(json: unknown): AuthUserListResponse {
  return AuthUserListResponseCodec.decode(json);
}
export function decodeAuthRoleGetResponse(json: unknown): AuthRoleGetResponse {
  return AuthRoleGetResponseCodec.decode(json);
}
export function decodeAuthRoleListResponse(json: unknown): AuthRoleListResponse {
  return AuthRoleListResponseCodec.decode(json);
}
