import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthPath,
  decodeAuthDisableRequest,
  decodeAuthEnableRequest,
  decodeAuthenticateRequest,
  decodeAuthenticateResponse,
  decodeAuthHeaderResponse,
  decodeAuthRoleAddRequest,
  decodeAuthRoleDeleteRequest,
  decodeAuthRoleGetRequest,
  decodeAuthRoleGetResponse,
  decodeAuthRoleGrantPermissionRequest,
  decodeAuthRoleListRequest,
  decodeAuthRoleListResponse,
  decodeAuthRoleRevokePermissionRequest,
  decodeAuthStatusRequest,
  decodeAuthStatusResponse,
  decodeAuthUserAddRequest,
  decodeAuthUserChangePasswordRequest,
  decodeAuthUserDeleteRequest,
  decodeAuthUserGetRequest,
  decodeAuthUserGetResponse,
  decodeAuthUserGrantRoleRequest,
  decodeAuthUserListRequest,
  decodeAuthUserListResponse,
  decodeAuthUserRevokeRoleRequest,
  encodeAuthDisableResponseText,
  encodeAuthEnableResponseText,
  encodeAuthenticateRequest,
  encodeAuthenticateResponse,
  encodeAuthenticateResponseText,
  encodeAuthHeaderResponse,
  encodeAuthRoleAddRequest,
  encodeAuthRoleAddResponseText,
  encodeAuthRoleDeleteRequest,
  encodeAuthRoleDeleteResponseText,
  encodeAuthRoleGetRequest,
  encodeAuthRoleGetResponse,
  encodeAuthRoleGetResponseText,
  encodeAuthRoleGrantPermissionRequest,
  encodeAuthRoleGrantPermissionResponseText,
  encodeAuthRoleListResponse,
  encodeAuthRoleListResponseText,
  encodeAuthRoleRevokePermissionRequest,
  encodeAuthRoleRevokePermissionResponseText,
  encodeAuthStatusResponse,
  encodeAuthStatusResponseText,
  encodeAuthUserAddRequest,
  encodeAuthUserAddResponseText,
  encodeAuthUserChangePasswordRequest,
  encodeAuthUserChangePasswordResponseText,
  encodeAuthUserDeleteRequest,
  encodeAuthUserDeleteResponseText,
  encodeAuthUserGetRequest,
  encodeAuthUserGetResponse,
  encodeAuthUserGetResponseText,
  encodeAuthUserGrantRoleRequest,
  encodeAuthUserGrantRoleResponseText,
  encodeAuthUserListResponse,
  encodeAuthUserListResponseText,
  encodeAuthUserRevokeRoleRequest,
  encodeAuthUserRevokeRoleResponseText,
  encodePermission,
  parseJsonBody,
  PermTypeNumber,
  type Permission,
  type ResponseHeader,
} from '../../src/wire/index.js';
import { assertDecodeError } from './helpers.js';

// The auth API's JSON, request decoding and response encoding, against what etcd 3.4.23 sent and
// accepted (observed with curl on a loopback member; API.md section 10). The expected texts below
// are etcd's, byte for byte, with its header.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const header: ResponseHeader = { clusterId: 324952591200643719n, memberId: 3319814642761637952n, revision: 1, raftTerm: 2 };
const H = '{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"1","raft_term":"2"}';
const body = (text: string): unknown => parseJsonBody(text);

// ---------------------------------------------------------------------------------------------
// Requests

test('empty requests (enable, disable, status, user list, role list) take {} , an empty body, null and unknown fields', () => {
  for (const decode of [decodeAuthEnableRequest, decodeAuthDisableRequest, decodeAuthStatusRequest, decodeAuthUserListRequest, decodeAuthRoleListRequest]) {
    assert.deepEqual(decode(body('{}')), {});
    assert.deepEqual(decode(body('')), {});
    assert.deepEqual(decode(null), {});
    assert.deepEqual(decode(body('{"whatever":[1,2]}')), {});
    // etcd: `json: cannot unmarshal array into Go value of type map[string]json.RawMessage` (400/3).
    assertDecodeError(() => decode(body('[]')), 'TYPE', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
    assertDecodeError(() => decode(body('"x"')), 'TYPE', 'json: cannot unmarshal string into Go value of type map[string]json.RawMessage');
  }
});

test('authenticate {name,password}; wrong types are Go decoder errors that never carry the value', () => {
  assert.deepEqual(decodeAuthenticateRequest(body('{"name":"root","password":"s3cret-pw"}')), { name: 'root', password: 's3cret-pw' });
  assert.deepEqual(decodeAuthenticateRequest(body('{}')), { name: '', password: '' });
  assert.deepEqual(decodeAuthenticateRequest(body('{"name":null,"password":null}')), { name: '', password: '' });
  assertDecodeError(() => decodeAuthenticateRequest(body('{"name":7}')), 'TYPE', 'json: cannot unmarshal number into Go value of type string', 'name');
  for (const bad of ['123456789', 'true', '["hunter2hunter2"]', '{"p":"hunter2hunter2"}']) {
    assert.throws(
      () => decodeAuthenticateRequest(body(`{"name":"root","password":${bad}}`)),
      (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.equal((e as { field?: string }).field, 'password');
        assert.ok(!e.message.includes('123456789') && !e.message.includes('hunter2'), e.message);
        return true;
      },
    );
  }
});

test('user add {name,password,options:{no_password}}; options by either spelling; null options = none', () => {
  assert.deepEqual(decodeAuthUserAddRequest(body('{"name":"alice","password":"alicepw12"}')), { name: 'alice', password: 'alicepw12', noPassword: false });
  assert.deepEqual(decodeAuthUserAddRequest(body('{"name":"bob","options":{"no_password":true}}')), { name: 'bob', password: '', noPassword: true });
  assert.deepEqual(decodeAuthUserAddRequest(body('{"name":"carl","options":{"noPassword":true}}')), { name: 'carl', password: '', noPassword: true });
  assert.deepEqual(decodeAuthUserAddRequest(body('{"name":"opt","options":null}')), { name: 'opt', password: '', noPassword: false });
  assert.deepEqual(decodeAuthUserAddRequest(body('{"name":"opt","options":{}}')), { name: 'opt', password: '', noPassword: false });
  assert.deepEqual(decodeAuthUserAddRequest(body('')), { name: '', password: '', noPassword: false });
  // etcd 3.5's hashedPassword is an unknown field: a client cannot pick the stored hash.
  assert.deepEqual(decodeAuthUserAddRequest(body('{"name":"h","hashedPassword":"$2a$10$x"}')), { name: 'h', password: '', noPassword: false });
  // All three observed on etcd 3.4.23 as 400/3 with these texts.
  assertDecodeError(() => decodeAuthUserAddRequest(body('{"name":"dan","options":{"no_password":"x"}}')), 'TYPE', 'json: cannot unmarshal string into Go value of type bool', 'options.no_password');
  assertDecodeError(() => decodeAuthUserAddRequest(body('{"name":7}')), 'TYPE', 'json: cannot unmarshal number into Go value of type string', 'name');
  assertDecodeError(() => decodeAuthUserAddRequest(body('{"name":"o","options":7}')), 'TYPE', 'json: cannot unmarshal number into Go value of type map[string]json.RawMessage', 'options');
  assertDecodeError(() => decodeAuthUserAddRequest(body('[]')), 'TYPE', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
  assertDecodeError(() => decodeAuthUserAddRequest(body('{"name":"x","password":1}')), 'TYPE', 'json: cannot unmarshal number into Go value of type string', 'password');
});

test('user get / delete {name}, changepw {name,password}', () => {
  assert.deepEqual(decodeAuthUserGetRequest(body('{"name":"alice"}')), { name: 'alice' });
  assert.deepEqual(decodeAuthUserDeleteRequest(body('{"name":"carl"}')), { name: 'carl' });
  assert.deepEqual(decodeAuthUserChangePasswordRequest(body('{"name":"alice","password":"newpw123"}')), { name: 'alice', password: 'newpw123' });
  // `user` is not a field of these: ignored, as etcd does.
  assert.deepEqual(decodeAuthUserGetRequest(body('{"user":"alice"}')), { name: '' });
  assertDecodeError(() => decodeAuthUserGetRequest(body('{"name":["a"]}')), 'TYPE', 'json: cannot unmarshal array into Go value of type string', 'name');
  assertDecodeError(() => decodeAuthUserDeleteRequest(body('{"name":false}')), 'TYPE', 'json: cannot unmarshal bool into Go value of type string', 'name');
  assertDecodeError(() => decodeAuthUserChangePasswordRequest(body('{"name":"a","password":{}}')), 'TYPE', 'json: cannot unmarshal object into Go value of type string', 'password');
});

test('user grant takes {user,role}, user revoke {name,role}: the other spelling is an unknown field', () => {
  assert.deepEqual(decodeAuthUserGrantRoleRequest(body('{"user":"alice","role":"reader"}')), { user: 'alice', role: 'reader' });
  // Observed on etcd: {"name":"opt","role":"reader"} to user/grant → 412 user name not found (user "").
  assert.deepEqual(decodeAuthUserGrantRoleRequest(body('{"name":"alice","role":"reader"}')), { user: '', role: 'reader' });
  assert.deepEqual(decodeAuthUserRevokeRoleRequest(body('{"name":"alice","role":"reader"}')), { name: 'alice', role: 'reader' });
  assert.deepEqual(decodeAuthUserRevokeRoleRequest(body('{"user":"alice","role":"reader"}')), { name: '', role: 'reader' });
  assertDecodeError(() => decodeAuthUserGrantRoleRequest(body('{"user":"a","role":1}')), 'TYPE', 'json: cannot unmarshal number into Go value of type string', 'role');
  assertDecodeError(() => decodeAuthUserRevokeRoleRequest(body('{"name":1}')), 'TYPE', undefined, 'name');
});

test('role add {name}; role get / delete {role}', () => {
  assert.deepEqual(decodeAuthRoleAddRequest(body('{"name":"reader"}')), { name: 'reader' });
  assert.deepEqual(decodeAuthRoleGetRequest(body('{"role":"reader"}')), { role: 'reader' });
  assert.deepEqual(decodeAuthRoleDeleteRequest(body('{"role":"reader"}')), { role: 'reader' });
  assert.deepEqual(decodeAuthRoleGetRequest(body('{"name":"reader"}')), { role: '' });
  assertDecodeError(() => decodeAuthRoleAddRequest(body('{"name":1}')), 'TYPE', undefined, 'name');
  assertDecodeError(() => decodeAuthRoleGetRequest(body('{"role":true}')), 'TYPE', 'json: cannot unmarshal bool into Go value of type string', 'role');
  assertDecodeError(() => decodeAuthRoleDeleteRequest(body('{"role":[]}')), 'TYPE', undefined, 'role');
});

test('role grant: permType by name or number, key and range_end (or rangeEnd) as padded base64', () => {
  const grant = (perm: string): Permission => decodeAuthRoleGrantPermissionRequest(body(`{"name":"reader","perm":${perm}}`)).perm;
  assert.deepEqual(grant('{"permType":"READ","key":"YQ==","range_end":"Yg=="}'), { permType: 'READ', key: enc('a'), rangeEnd: enc('b') });
  assert.deepEqual(grant('{"permType":1,"key":"Yw=="}'), { permType: 'WRITE', key: enc('c'), rangeEnd: new Uint8Array(0) });
  assert.deepEqual(grant('{"permType":"READWRITE","key":"AA==","rangeEnd":"AA=="}'), { permType: 'READWRITE', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
  assert.deepEqual(grant('{"permType":2,"key":"YQ=="}').permType, 'READWRITE');
  assert.deepEqual(grant('{"permType":0,"key":"YQ=="}').permType, 'READ');
  // permType absent = READ; `perm_type` is not a spelling of it (ignored, so READ), as in etcd.
  assert.deepEqual(grant('{"key":"YQ=="}').permType, 'READ');
  assert.deepEqual(grant('{"perm_type":"WRITE","key":"YQ=="}').permType, 'READ');
  assert.deepEqual(grant('{}'), { permType: 'READ', key: new Uint8Array(0), rangeEnd: new Uint8Array(0) });
  assert.equal(decodeAuthRoleGrantPermissionRequest(body('{"name":"r","perm":{"key":"YQ=="}}')).name, 'r');
  assert.deepEqual(PermTypeNumber, { READ: 0, WRITE: 1, READWRITE: 2 });
});

test('role grant: malformed perms are DecodeErrors with etcd\'s texts and the field path', () => {
  const grant = (perm: string): unknown => decodeAuthRoleGrantPermissionRequest(body(`{"name":"reader","perm":${perm}}`));
  // Observed on etcd 3.4.23 (400/3): unknown name, bad base64, wrong kinds.
  assertDecodeError(() => grant('{"permType":"FOO","key":"AA=="}'), 'ENUM', 'unknown value "FOO" for enum authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => grant('{"permType":"read","key":"AA=="}'), 'ENUM', 'unknown value "read" for enum authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => grant('{"permType":"READ","key":"!!"}'), 'BASE64', 'illegal base64 data at input byte 0', 'perm.key');
  assertDecodeError(() => grant('{"key":"YQ==","range_end":"YQ"}'), 'BASE64', undefined, 'perm.range_end');
  assertDecodeError(() => grant('{"key":"-_8="}'), 'BASE64', undefined, 'perm.key');
  assertDecodeError(() => grant('{"permType":"READ","key":"eQ==","range_end":5}'), 'TYPE', 'json: cannot unmarshal number into Go value of type []uint8', 'perm.range_end');
  assertDecodeError(() => grant('7'), 'TYPE', 'json: cannot unmarshal number into Go value of type map[string]json.RawMessage', 'perm');
  // etcd accepts numbers beyond the enum (and lists `"permType":7`, a permission nothing matches): refused here.
  assertDecodeError(() => grant('{"permType":7,"key":"ZA=="}'), 'ENUM', 'unknown value 7 for enum authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => grant('{"permType":3,"key":"ZA=="}'), 'ENUM', 'unknown value 3 for enum authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => grant('{"permType":-1,"key":"ZA=="}'), 'ENUM', 'unknown value -1 for enum authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => grant('{"permType":1.5,"key":"ZA=="}'), 'TYPE', 'json: cannot unmarshal number 1.5 into Go value of type authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => grant('{"permType":true}'), 'TYPE', 'json: cannot unmarshal bool into Go value of type authpb.Permission_Type', 'perm.permType');
  assertDecodeError(() => decodeAuthRoleGrantPermissionRequest(body('{"name":1,"perm":{}}')), 'TYPE', undefined, 'name');
});

test('role grant without perm (or perm null) is refused at decode: etcd 3.4 panics on it, every restart', () => {
  for (const text of ['{"name":"reader"}', '{"name":"reader","perm":null}', '{}', '']) {
    assertDecodeError(() => decodeAuthRoleGrantPermissionRequest(body(text)), 'SHAPE', 'keyward: perm is not provided', 'perm');
  }
});

test('role revoke {role,key,range_end}', () => {
  assert.deepEqual(decodeAuthRoleRevokePermissionRequest(body('{"role":"reader","key":"Yw=="}')), { role: 'reader', key: enc('c'), rangeEnd: new Uint8Array(0) });
  assert.deepEqual(decodeAuthRoleRevokePermissionRequest(body('{"role":"reader","key":"YQ==","rangeEnd":"Yg=="}')), { role: 'reader', key: enc('a'), rangeEnd: enc('b') });
  // The proto name wins over the camel alias when both are given (jsonpb looks it up first).
  assert.deepEqual(decodeAuthRoleRevokePermissionRequest(body('{"role":"r","range_end":"Yg==","rangeEnd":"Yw=="}')).rangeEnd, enc('b'));
  // Observed on etcd: {"role":"reader","key":"eQ==","rangeEnd":"!!"} → 400/3 illegal base64.
  assertDecodeError(() => decodeAuthRoleRevokePermissionRequest(body('{"role":"reader","key":"eQ==","rangeEnd":"!!"}')), 'BASE64', 'illegal base64 data at input byte 0', 'range_end');
  assertDecodeError(() => decodeAuthRoleRevokePermissionRequest(body('{"role":"reader","key":1}')), 'TYPE', 'json: cannot unmarshal number into Go value of type []uint8', 'key');
  assertDecodeError(() => decodeAuthRoleRevokePermissionRequest(body('{"name":"reader","role":{}}')), 'TYPE', undefined, 'role');
});

// ---------------------------------------------------------------------------------------------
// Responses

/** The text encoder, the object encoder and the client decoder must agree with etcd's text. */
function golden<T>(value: T, text: string, encodeText: (v: T) => string, encode: ((v: T) => unknown) | undefined, decode: (json: unknown) => T): void {
  assert.equal(encodeText(value), text);
  if (encode !== undefined) assert.equal(JSON.stringify(encode(value)), text);
  assert.deepEqual(decode(parseJsonBody(text)), value);
}

test('header-only responses are {"header":…} exactly as etcd answers them', () => {
  const text = `{"header":${H}}`;
  for (const encodeText of [
    encodeAuthEnableResponseText,
    encodeAuthDisableResponseText,
    encodeAuthUserAddResponseText,
    encodeAuthUserDeleteResponseText,
    encodeAuthUserChangePasswordResponseText,
    encodeAuthUserGrantRoleResponseText,
    encodeAuthUserRevokeRoleResponseText,
    encodeAuthRoleAddResponseText,
    encodeAuthRoleDeleteResponseText,
    encodeAuthRoleGrantPermissionResponseText,
    encodeAuthRoleRevokePermissionResponseText,
  ]) {
    golden({ header }, text, encodeText, encodeAuthHeaderResponse, decodeAuthHeaderResponse);
  }
});

test('authenticate → token', () => {
  golden({ header, token: 'kAjWFwrGFFqupQat.55' }, `{"header":${H},"token":"kAjWFwrGFFqupQat.55"}`, encodeAuthenticateResponseText, encodeAuthenticateResponse, decodeAuthenticateResponse);
});

test('status (etcd 3.5 shape): enabled and authRevision as a decimal string; both omitted at zero', () => {
  golden({ header, enabled: true, authRevision: 12 }, `{"header":${H},"enabled":true,"authRevision":"12"}`, encodeAuthStatusResponseText, encodeAuthStatusResponse, decodeAuthStatusResponse);
  golden({ header, enabled: false, authRevision: 0 }, `{"header":${H}}`, encodeAuthStatusResponseText, encodeAuthStatusResponse, decodeAuthStatusResponse);
  golden({ header, enabled: false, authRevision: 3 }, `{"header":${H},"authRevision":"3"}`, encodeAuthStatusResponseText, encodeAuthStatusResponse, decodeAuthStatusResponse);
});

test('user get → roles (omitted when none), user list → users, role list → roles', () => {
  golden({ header, roles: ['reader'] }, `{"header":${H},"roles":["reader"]}`, encodeAuthUserGetResponseText, encodeAuthUserGetResponse, decodeAuthUserGetResponse);
  golden({ header, roles: [] }, `{"header":${H}}`, encodeAuthUserGetResponseText, encodeAuthUserGetResponse, decodeAuthUserGetResponse);
  golden({ header, users: ['alice', 'bob', 'carl', 'root'] }, `{"header":${H},"users":["alice","bob","carl","root"]}`, encodeAuthUserListResponseText, encodeAuthUserListResponse, decodeAuthUserListResponse);
  golden({ header, users: [] }, `{"header":${H}}`, encodeAuthUserListResponseText, encodeAuthUserListResponse, decodeAuthUserListResponse);
  golden({ header, roles: ['reader', 'root'] }, `{"header":${H},"roles":["reader","root"]}`, encodeAuthRoleListResponseText, encodeAuthRoleListResponse, decodeAuthRoleListResponse);
  golden({ header, roles: [] }, `{"header":${H}}`, encodeAuthRoleListResponseText, encodeAuthRoleListResponse, decodeAuthRoleListResponse);
  // Names are JSON-escaped.
  assert.equal(encodeAuthUserListResponseText({ header, users: ['a"b', 'ü'] }), `{"header":${H},"users":["a\\"b","ü"]}`);
});

test('role get → perm[]: READ has no permType, empty range_end is omitted, bytes base64 (etcd\'s text)', () => {
  // etcd 3.4.23, POST /v3/auth/role/get {"role":"reader"} after three grants (sorted by key).
  const perm: Permission[] = [
    { permType: 'READWRITE', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
    { permType: 'READ', key: enc('a'), rangeEnd: enc('b') },
    { permType: 'WRITE', key: enc('c'), rangeEnd: new Uint8Array(0) },
  ];
  const text = `{"header":${H},"perm":[{"permType":"READWRITE","key":"AA==","range_end":"AA=="},{"key":"YQ==","range_end":"Yg=="},{"permType":"WRITE","key":"Yw=="}]}`;
  golden({ header, perm }, text, encodeAuthRoleGetResponseText, encodeAuthRoleGetResponse, decodeAuthRoleGetResponse);
  // Role root lists no perms: etcd answers the bare header.
  golden({ header, perm: [] }, `{"header":${H}}`, encodeAuthRoleGetResponseText, encodeAuthRoleGetResponse, decodeAuthRoleGetResponse);
  assert.deepEqual(encodePermission({ permType: 'READ', key: new Uint8Array(0), rangeEnd: new Uint8Array(0) }), {});
});

test('a header without revision (zero) is left out as everywhere else', () => {
  const h0: ResponseHeader = { clusterId: 1n, memberId: 2n, revision: 0, raftTerm: 0 };
  assert.equal(encodeAuthEnableResponseText({ header: h0 }), '{"header":{"cluster_id":"1","member_id":"2"}}');
});

// ---------------------------------------------------------------------------------------------
// Client side: requests out

test('client request encoding: etcd\'s field names, zero values omitted, options only for no-password users', () => {
  const json = (v: unknown): string => JSON.stringify(v);
  assert.equal(json(encodeAuthenticateRequest({ name: 'root', password: 'pw' })), '{"name":"root","password":"pw"}');
  assert.equal(json(encodeAuthUserAddRequest({ name: 'alice', password: 'alicepw12', noPassword: false })), '{"name":"alice","password":"alicepw12"}');
  assert.equal(json(encodeAuthUserAddRequest({ name: 'bob', password: '', noPassword: true })), '{"name":"bob","options":{"no_password":true}}');
  assert.equal(json(encodeAuthUserGetRequest({ name: 'alice' })), '{"name":"alice"}');
  assert.equal(json(encodeAuthUserDeleteRequest({ name: 'alice' })), '{"name":"alice"}');
  assert.equal(json(encodeAuthUserChangePasswordRequest({ name: 'alice', password: 'x' })), '{"name":"alice","password":"x"}');
  assert.equal(json(encodeAuthUserGrantRoleRequest({ user: 'alice', role: 'r' })), '{"user":"alice","role":"r"}');
  assert.equal(json(encodeAuthUserRevokeRoleRequest({ name: 'alice', role: 'r' })), '{"name":"alice","role":"r"}');
  assert.equal(json(encodeAuthRoleAddRequest({ name: 'r' })), '{"name":"r"}');
  assert.equal(json(encodeAuthRoleGetRequest({ role: 'r' })), '{"role":"r"}');
  assert.equal(json(encodeAuthRoleDeleteRequest({ role: 'r' })), '{"role":"r"}');
  assert.equal(
    json(encodeAuthRoleGrantPermissionRequest({ name: 'r', perm: { permType: 'READ', key: enc('a'), rangeEnd: enc('b') } })),
    '{"name":"r","perm":{"key":"YQ==","range_end":"Yg=="}}',
  );
  // A perm of all defaults is still sent (an empty perm object is not an absent one).
  assert.equal(json(encodeAuthRoleGrantPermissionRequest({ name: 'r', perm: { permType: 'READ', key: new Uint8Array(0), rangeEnd: new Uint8Array(0) } })), '{"name":"r","perm":{}}');
  assert.equal(
    json(encodeAuthRoleRevokePermissionRequest({ role: 'r', key: enc('a'), rangeEnd: new Uint8Array([0]) })),
    '{"role":"r","key":"YQ==","range_end":"AA=="}',
  );
});

test('every client-encoded request decodes back to itself', () => {
  const perm: Permission = { permType: 'WRITE', key: enc('k'), rangeEnd: enc('l') };
  const rt = <T>(v: T, e: (x: T) => unknown, d: (j: unknown) => T): void => assert.deepEqual(d(parseJsonBody(JSON.stringify(e(v)))), v);
  rt({ name: 'u', password: 'p' }, encodeAuthenticateRequest, decodeAuthenticateRequest);
  rt({ name: 'u', password: 'p', noPassword: false }, encodeAuthUserAddRequest, decodeAuthUserAddRequest);
  rt({ name: 'u', password: '', noPassword: true }, encodeAuthUserAddRequest, decodeAuthUserAddRequest);
  rt({ name: 'u' }, encodeAuthUserGetRequest, decodeAuthUserGetRequest);
  rt({ name: 'u' }, encodeAuthUserDeleteRequest, decodeAuthUserDeleteRequest);
  rt({ name: 'u', password: 'p' }, encodeAuthUserChangePasswordRequest, decodeAuthUserChangePasswordRequest);
  rt({ user: 'u', role: 'r' }, encodeAuthUserGrantRoleRequest, decodeAuthUserGrantRoleRequest);
  rt({ name: 'u', role: 'r' }, encodeAuthUserRevokeRoleRequest, decodeAuthUserRevokeRoleRequest);
  rt({ name: 'r' }, encodeAuthRoleAddRequest, decodeAuthRoleAddRequest);
  rt({ role: 'r' }, encodeAuthRoleGetRequest, decodeAuthRoleGetRequest);
  rt({ role: 'r' }, encodeAuthRoleDeleteRequest, decodeAuthRoleDeleteRequest);
  for (const permType of ['READ', 'WRITE', 'READWRITE'] as const) {
    rt({ name: 'r', perm: { ...perm, permType } }, encodeAuthRoleGrantPermissionRequest, decodeAuthRoleGrantPermissionRequest);
  }
  rt({ role: 'r', key: enc('k'), rangeEnd: enc('l') }, encodeAuthRoleRevokePermissionRequest, decodeAuthRoleRevokePermissionRequest);
});

test('AuthPath lists etcd\'s gateway paths', () => {
  assert.equal(AuthPath.USER_CHANGE_PASSWORD, '/v3/auth/user/changepw');
  assert.equal(AuthPath.USER_GRANT_ROLE, '/v3/auth/user/grant');
  assert.equal(AuthPath.ROLE_REVOKE_PERMISSION, '/v3/auth/role/revoke');
  assert.equal(Object.keys(AuthPath).length, 17);
  for (const p of Object.values(AuthPath)) assert.match(p, /^\/v3\/auth\/[a-z/]+$/);
});
