// etcd's auth API over HTTP (API.md section 10): unary RPCs served on createApi's fast path like
// the KV ones. Handlers decode, delegate to the server's AuthService with who is asking, and encode.
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

/** The auth RPCs by path below /v3 (the router adds /v3 and /v3beta). */
export function authApi(server: KeywardServer): Record<string, AuthRpc> {
  const a = server.auth;
  const rpcs: Record<AuthPath, AuthRpc> = {
    [AuthPath.ENABLE]: (b, _r, auth) => (decodeAuthEnableRequest(b), a.enable(auth).then(encodeAuthEnableResponseText)),
    [AuthPath.DISABLE]: (b, _r, auth) => (decodeAuthDisableRequest(b), a.disable(auth).then(encodeAuthDisableResponseText)),
    [AuthPath.STATUS]: (b, _r, auth) => (decodeAuthStatusRequest(b), a.status(auth).then(encodeAuthStatusResponseText)),
    [AuthPath.AUTHENTICATE]: (b, _r, auth) => a.authenticate(decodeAuthenticateRequest(b), auth).then(encodeAuthenticateResponseText),
    [AuthPath.USER_ADD]: (b, _r, auth) => a.userAdd(decodeAuthUserAddRequest(b), auth).then(encodeAuthUserAddResponseText),
    [AuthPath.USER_GET]: (b, _r, auth) => a.userGet(decodeAuthUserGetRequest(b), auth).then(encodeAuthUserGetResponseText),
    [AuthPath.USER_LIST]: (b, _r, auth) => (decodeAuthUserListRequest(b), a.userList(auth).then(encodeAuthUserListResponseText)),
    [AuthPath.USER_DELETE]: (b, _r, auth) => a.userDelete(decodeAuthUserDeleteRequest(b), auth).then(encodeAuthUserDeleteResponseText),
    [AuthPath.USER_CHANGE_PASSWORD]: (b, _r, auth) =>
      a.userChangePassword(decodeAuthUserChangePasswordRequest(b), auth).then(encodeAuthUserChangePasswordResponseText),
    [AuthPath.USER_GRANT_ROLE]: (b, _r, auth) => a.userGrantRole(decodeAuthUserGrantRoleRequest(b), auth).then(encodeAuthUserGrantRoleResponseText),
    [AuthPath.USER_REVOKE_ROLE]: (b, _r, auth) => a.userRevokeRole(decodeAuthUserRevokeRoleRequest(b), auth).then(encodeAuthUserRevokeRoleResponseText),
    [AuthPath.ROLE_ADD]: (b, _r, auth) => a.roleAdd(decodeAuthRoleAddRequest(b), auth).then(encodeAuthRoleAddResponseText),
    [AuthPath.ROLE_GET]: (b, _r, auth) => a.roleGet(decodeAuthRoleGetRequest(b), auth).then(encodeAuthRoleGetResponseText),
    [AuthPath.ROLE_LIST]: (b, _r, auth) => (decodeAuthRoleListRequest(b), a.roleList(auth).then(encodeAuthRoleListResponseText)),
    [AuthPath.ROLE_DELETE]: (b, _r, auth) => a.roleDelete(decodeAuthRoleDeleteRequest(b), auth).then(encodeAuthRoleDeleteResponseText),
    [AuthPath.ROLE_GRANT_PERMISSION]: (b, _r, auth) =>
      a.roleGrantPermission(decodeAuthRoleGrantPermissionRequest(b), auth).then(encodeAuthRoleGrantPermissionResponseText),
    [AuthPath.ROLE_REVOKE_PERMISSION]: (b, _r, auth) =>
      a.roleRevokePermission(decodeAuthRoleRevokePermissionRequest(b), auth).then(encodeAuthRoleRevokePermissionResponseText),
  };
  // The router mounts these under /v3 and /v3beta: strip the /v3 of the wire paths.
  return Object.fromEntries(Object.entries(rpcs).map(([path, rpc]) => [path.slice('/v3'.length), rpc]));
}
