import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthClient, KeywardError } from '../../src/client/index.js';

// The auth client's request encoding, response decoding and error mapping.
//
// FAKE SERVER: Keyward's /v3/auth/* endpoints are not wired yet, so this runs against a tiny
// node:http server in this file that records each request and answers with bodies observed from a
// real etcd 3.4.23 (curl on loopback, see the report of part C). It checks only the client side of
// the wire: what is sent, how answers and error envelopes are read. Behaviour belongs in tests
// against a real member once the endpoints exist.

const H = '{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"1","raft_term":"2"}';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Seen {
  path: string;
  body: string;
  authorization: string | undefined;
}
let server: Server;
let url: string;
const seen: Seen[] = [];
/** path -> [status, body, content-type] */
const answers = new Map<string, [number, string, string?]>();

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (d: Buffer) => (s += d.toString()));
    req.on('end', () => resolve(s));
  });
}

before(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      seen.push({ path: req.url ?? '', body, authorization: req.headers.authorization });
      const [status, text, type] = answers.get(req.url ?? '') ?? [200, `{"header":${H}}`];
      res.writeHead(status, { 'content-type': type ?? 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function last(): Seen {
  const s = seen.at(-1);
  assert.ok(s);
  return s;
}

test('each call posts etcd\'s path and body', async () => {
  const c = new AuthClient({ endpoints: [url], timeoutMs: 2000 });
  const cases: Array<[() => Promise<unknown>, string, string]> = [
    [() => c.enable(), '/v3/auth/enable', '{}'],
    [() => c.disable(), '/v3/auth/disable', '{}'],
    [() => c.userAdd('alice', 'alicepw12'), '/v3/auth/user/add', '{"name":"alice","password":"alicepw12"}'],
    [() => c.userAdd('bob', { noPassword: true }), '/v3/auth/user/add', '{"name":"bob","options":{"no_password":true}}'],
    [() => c.userDelete('bob'), '/v3/auth/user/delete', '{"name":"bob"}'],
    [() => c.userChangePassword('alice', 'newpw123'), '/v3/auth/user/changepw', '{"name":"alice","password":"newpw123"}'],
    [() => c.userGrantRole('alice', 'reader'), '/v3/auth/user/grant', '{"user":"alice","role":"reader"}'],
    [() => c.userRevokeRole('alice', 'reader'), '/v3/auth/user/revoke', '{"name":"alice","role":"reader"}'],
    [() => c.roleAdd('reader'), '/v3/auth/role/add', '{"name":"reader"}'],
    [() => c.roleDelete('reader'), '/v3/auth/role/delete', '{"role":"reader"}'],
    [() => c.roleGrantPermission('reader', { permType: 'READ', key: 'a', rangeEnd: 'b' }), '/v3/auth/role/grant', '{"name":"reader","perm":{"key":"YQ==","range_end":"Yg=="}}'],
    [() => c.roleGrantPermission('reader', { permType: 'READWRITE', key: enc('k') }), '/v3/auth/role/grant', '{"name":"reader","perm":{"permType":"READWRITE","key":"aw=="}}'],
    [() => c.roleRevokePermission('reader', 'a', '\0'), '/v3/auth/role/revoke', '{"role":"reader","key":"YQ==","range_end":"AA=="}'],
    [() => c.roleRevokePermission('reader', 'k'), '/v3/auth/role/revoke', '{"role":"reader","key":"aw=="}'],
  ];
  for (const [call, path, body] of cases) {
    const res = await call();
    assert.deepEqual([last().path, last().body], [path, body]);
    assert.deepEqual(res, { header: { clusterId: 324952591200643719n, memberId: 3319814642761637952n, revision: 1, raftTerm: 2 } });
  }
});

test('answers are decoded: token, roles, users, perms (READ without permType), status', async () => {
  const c = new AuthClient({ endpoints: [url], timeoutMs: 2000 });
  answers.set('/v3/auth/authenticate', [200, `{"header":${H},"token":"kAjWFwrGFFqupQat.55"}`]);
  assert.equal(await c.authenticate('root', 'rootpw12'), 'kAjWFwrGFFqupQat.55');
  assert.deepEqual([last().path, last().body], ['/v3/auth/authenticate', '{"name":"root","password":"rootpw12"}']);

  answers.set('/v3/auth/user/get', [200, `{"header":${H},"roles":["reader"]}`]);
  assert.deepEqual((await c.userGet('alice')).roles, ['reader']);
  assert.equal(last().body, '{"name":"alice"}');
  answers.set('/v3/auth/user/get', [200, `{"header":${H}}`]);
  assert.deepEqual((await c.userGet('bob')).roles, []);

  answers.set('/v3/auth/user/list', [200, `{"header":${H},"users":["alice","bob","root"]}`]);
  assert.deepEqual((await c.userList()).users, ['alice', 'bob', 'root']);
  assert.equal(last().body, '{}');

  answers.set('/v3/auth/role/list', [200, `{"header":${H},"roles":["reader","root"]}`]);
  assert.deepEqual((await c.roleList()).roles, ['reader', 'root']);

  answers.set('/v3/auth/role/get', [200, `{"header":${H},"perm":[{"permType":"READWRITE","key":"AA==","range_end":"AA=="},{"key":"YQ==","range_end":"Yg=="},{"permType":"WRITE","key":"Yw=="}]}`]);
  assert.deepEqual((await c.roleGet('reader')).perm, [
    { permType: 'READWRITE', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
    { permType: 'READ', key: enc('a'), rangeEnd: enc('b') },
    { permType: 'WRITE', key: enc('c'), rangeEnd: new Uint8Array(0) },
  ]);
  assert.equal(last().body, '{"role":"reader"}');

  answers.set('/v3/auth/status', [200, `{"header":${H},"enabled":true,"authRevision":"7"}`]);
  const s = await c.status();
  assert.deepEqual([s.enabled, s.authRevision], [true, 7]);
});

async function rejectsWith(p: Promise<unknown>, code: string, grpc: number, status: number, message?: string): Promise<KeywardError> {
  let err: KeywardError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeywardError, String(e));
    assert.deepEqual([e.code, e.grpcCode, e.httpStatus], [code, grpc, status]);
    if (message !== undefined) assert.equal(e.message, message);
    err = e;
    return true;
  });
  return err as KeywardError;
}

const envelope = (code: number, message: string): string => JSON.stringify({ error: message, message, code });

test('etcd\'s error envelopes come back as typed KeywardErrors (bodies as etcd 3.4.23 sent them)', async () => {
  const c = new AuthClient({ endpoints: [url], timeoutMs: 2000 });
  answers.set('/v3/auth/role/delete', [412, envelope(9, 'etcdserver: role name not found')]);
  await rejectsWith(c.roleDelete('nothere'), 'ROLE_NOT_FOUND', 9, 412, 'etcdserver: role name not found');
  answers.set('/v3/auth/user/grant', [412, envelope(9, 'etcdserver: user name not found')]);
  await rejectsWith(c.userGrantRole('nobody', 'r'), 'USER_NOT_FOUND', 9, 412);
  answers.set('/v3/auth/authenticate', [400, envelope(3, 'etcdserver: authentication failed, invalid user ID or password')]);
  const e = await rejectsWith(c.authenticate('root', 'wrong-password-xyz'), 'AUTH_FAILED', 3, 400);
  assert.ok(!e.message.includes('wrong-password-xyz'));
  answers.set('/v3/auth/user/list', [400, envelope(3, 'etcdserver: user name is empty')]);
  await rejectsWith(c.userList(), 'USER_EMPTY', 3, 400);
  answers.set('/v3/auth/role/list', [401, envelope(16, 'etcdserver: invalid auth token')]);
  await rejectsWith(c.roleList(), 'INVALID_AUTH_TOKEN', 16, 401);
  answers.set('/v3/auth/role/get', [403, envelope(7, 'etcdserver: permission denied')]);
  await rejectsWith(c.roleGet('x'), 'PERMISSION_DENIED', 7, 403);
  answers.set('/v3/auth/user/add', [500, envelope(2, 'auth: authentication failed, password was given for no password user')]);
  await rejectsWith(c.userAdd('x', 'y'), 'NO_PASSWORD_USER', 2, 500);
  answers.set('/v3/auth/enable', [412, envelope(9, 'etcdserver: root user does not exist')]);
  await rejectsWith(c.enable(), 'ROOT_USER_NOT_EXIST', 9, 412);
  // etcd 3.4 has no AuthStatus: its gateway answers 404 text/plain "Not Found".
  answers.set('/v3/auth/status', [404, 'Not Found', 'text/plain']);
  await rejectsWith(c.status(), 'UNKNOWN', 2, 404);
});

test('reads, authenticate and writes that were never sent fail over to the next endpoint (a write that may have arrived does not: test/client/retry-safety.test.ts)', async () => {
  // A port nobody listens on: bind one, note it, close it.
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise<void>((r) => dead.close(() => r()));

  answers.set('/v3/auth/user/list', [200, `{"header":${H},"users":["root"]}`]);
  answers.set('/v3/auth/authenticate', [200, `{"header":${H},"token":"t.1"}`]);
  const reads = new AuthClient({ endpoints: [deadUrl, url], timeoutMs: 2000 });
  assert.deepEqual((await reads.userList()).users, ['root']);
  const auth = new AuthClient({ endpoints: [deadUrl, url], timeoutMs: 2000 });
  assert.equal(await auth.authenticate('root', 'rootpw12'), 't.1');

  // Refused connection: the first endpoint never saw the write, so it goes to the second, once.
  const writes = new AuthClient({ endpoints: [deadUrl, url], timeoutMs: 2000 });
  const before = seen.length;
  await writes.roleAdd('r');
  assert.deepEqual(seen.slice(before).map((s) => s.path), ['/v3/auth/role/add']);
});
