// etcd's auth API over HTTP (API.md section 10): unary RPCs served on createApi's fast path like
// the KV ones. Handlers decode, delegate to the server's AuthService with who is asking, and encode.
// User and role calls (and authenticate) also read Keyward's `tenant` field: the tenant whose users
// and roles the call names (server/auth-service.ts says who may use it).
import type { IncomingMessage } from 'node:http';
import type { KeywardServer, RequestAuth } from '../server/index.js';
import {
  AuthPath,
  decodeAuthDisableRequest,
  decodeAuthEnableRequest,
  decodeAuthRoleAddRequest,
  decodeAuthRoleDeleteRequest,
  decodeAuthRoleGetRequest,
  decodeAuthRoleGrantPermissionRequest,
  decodeAuthRoleListRequest,
  decodeAuthRoleRevokePermissionRequest,
  decodeAuthStatusRequest,
  decodeAuthUserAddRequest,
  decodeAuthUserChangePasswordRequest,
  decodeAuthUserDeleteRequest,
  decodeAuthUserGetRequest,
  decodeAuthUserGrantRoleRequest,
  decodeAuthUserListRequest,
  decodeAuthUserRevokeRoleRequest,
  decodeAuthenticateRequest,
  decodeAuthTenant,
  encodeAuthDisableResponseText,
  encodeAuthEnableResponseText,
  encodeAuthRoleAddResponseText,
  encodeAuthRoleDeleteResponseText,
  encodeAuthRoleGetResponseText,
  encodeAuthRoleGrantPermissionResponseText,
  encodeAuthRoleListResponseText,
  encodeAuthRoleRevokePermissionResponseText,
  encodeAuthStatusResponseText,
  encodeAuthUserAddResponseText,
  encodeAuthUserChangePasswordResponseText,
  encodeAuthUserDeleteResponseText,
  encodeAuthUserGetResponseText,
  encodeAuthUserGrantRoleResponseText,
  encodeAuthUserListResponseText,
  encodeAuthUserRevokeRoleResponseText,
  encodeAuthenticateResponseText,
} from '../wire/index.js';

type AuthRpc = (body: unknown, req: IncomingMessage, auth: RequestAuth) => Promise<string>;

/** The decoded request with Keyward's `tenant` scope field (wire decodeAuthTenant) added when present. */
function scoped<T extends object>(decoded: T, body: unknown): T & { tenant?: string } {
  const tenant = decodeAuthTenant(body);
  return tenant === undefined ? decoded : { ...decoded, tenant };
}

/** The auth RPCs by path below /v3 (the router adds /v3 and /v3beta). */
export function authApi(server: KeywardServer): Record<string, AuthRpc> {
  const a = server.auth;
  const rpcs: Record<AuthPath, AuthRpc> = {
    // Cluster-level: no scope field is read.
    [AuthPath.ENABLE]: (b, _r, auth) => (decodeAuthEnableRequest(b), a.enable(auth).then(encodeAuthEnableResponseText)),
    [AuthPath.DISABLE]: (b, _r, auth) => (decodeAuthDisableRequest(b), a.disable(auth).then(encodeAuthDisableResponseText)),
    [AuthPath.STATUS]: (b, _r, auth) => (decodeAuthStatusRequest(b), a.status(auth).then(encodeAuthStatusResponseText)),
    [AuthPath.AUTHENTICATE]: (b, _r, auth) => a.authenticate(scoped(decodeAuthenticateRequest(b), b), auth).then(encodeAuthenticateResponseText),
    [AuthPath.USER_ADD]: (b, _r, auth) => a.userAdd(scoped(decodeAuthUserAddRequest(b), b), auth).then(encodeAuthUserAddResponseText),
    [AuthPath.USER_GET]: (b, _r, auth) => a.userGet(scoped(decodeAuthUserGetRequest(b), b), auth).then(encodeAuthUserGetResponseText),
    [AuthPath.USER_LIST]: (b, _r, auth) => a.userList(auth, scoped(decodeAuthUserListRequest(b), b)).then(encodeAuthUserListResponseText),
    [AuthPath.USER_DELETE]: (b, _r, auth) => a.userDelete(scoped(decodeAuthUserDeleteRequest(b), b), auth).then(encodeAuthUserDeleteResponseText),
    [AuthPath.USER_CHANGE_PASSWORD]: (b, _r, auth) =>
      a.userChangePassword(scoped(decodeAuthUserChangePasswordRequest(b), b), auth).then(encodeAuthUserChangePasswordResponseText),
    [AuthPath.USER_GRANT_ROLE]: (b, _r, auth) => a.userGrantRole(scoped(decodeAuthUserGrantRoleRequest(b), b), auth).then(encodeAuthUserGrantRoleResponseText),
    [AuthPath.USER_REVOKE_ROLE]: (b, _r, auth) => a.userRevokeRole(scoped(decodeAuthUserRevokeRoleRequest(b), b), auth).then(encodeAuthUserRevokeRoleResponseText),
    [AuthPath.ROLE_ADD]: (b, _r, auth) => a.roleAdd(scoped(decodeAuthRoleAddRequest(b), b), auth).then(encodeAuthRoleAddResponseText),
    [AuthPath.ROLE_GET]: (b, _r, auth) => a.roleGet(scoped(decodeAuthRoleGetRequest(b), b), auth).then(encodeAuthRoleGetResponseText),
    [AuthPath.ROLE_LIST]: (b, _r, auth) => a.roleList(auth, scoped(decodeAuthRoleListRequest(b), b)).then(encodeAuthRoleListResponseText),
    [AuthPath.ROLE_DELETE]: (b, _r, auth) => a.roleDelete(scoped(decodeAuthRoleDeleteRequest(b), b), auth).then(encodeAuthRoleDeleteResponseText),
    [AuthPath.ROLE_GRANT_PERMISSION]: (b, _r, auth) =>
      a.roleGrantPermission(scoped(decodeAuthRoleGrantPermissionRequest(b), b), auth).then(encodeAuthRoleGrantPermissionResponseText),
    [AuthPath.ROLE_REVOKE_PERMISSION]: (b, _r, auth) =>
      a.roleRevokePermission(scoped(decodeAuthRoleRevokePermissionRequest(b), b), auth).then(encodeAuthRoleRevokePermissionResponseText),
  };
  // The router mounts these under /v3 and /v3beta: strip the /v3 of the wire paths.
  return Object.fromEntries(Object.entries(rpcs).map(([path, rpc]) => [path.slice('/v3'.length), rpc]));
}
