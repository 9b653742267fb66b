import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthClient } from '../../src/client/index.js';
import {
  firstLine,
  formatRole,
  loginCredentials,
  parseBoolFlag,
  parsePermType,
  permRange,
  readNewPassword,
  runAuthDisable,
  runAuthEnable,
  runAuthStatus,
  runRoleAdd,
  runRoleDelete,
  runRoleGet,
  runRoleGrantPermission,
  runRoleList,
  runRoleRevokePermission,
  runUserAdd,
  runUserDelete,
  runUserGet,
  runUserGrantRole,
  runUserList,
  runUserPasswd,
  runUserRevokeRole,
  type PasswordInput,
} from '../../src/cli/auth-commands.js';
import { UsageError, type Output } from '../../src/cli/kv-commands.js';
import { bytesFromString, type AuthRoleGetResponse, type ResponseHeader } from '../../src/wire/index.js';
import { runKeyward } from '../harness/process.js';

// `keyward auth|user|role …` prints what etcdctl 3.4 prints. The expected texts were observed from
// etcdctl 3.4.23 against etcd 3.4.23 on loopback; the same commands of this CLI were also run
// against that etcd and compared byte for byte (role get with ranges, prefixes and from-key, user
// get with and without --detail, lists).
//
// FAKE SERVER: Keyward's /v3/auth/* endpoints are not wired yet, so the run* tests use a tiny
// node:http server here that answers with bodies etcd 3.4.23 sent, and records the requests. It
// checks the CLI's client side only (what it sends, how it prints answers). Argument errors need
// no server; the process tests run the real `keyward` binary.

const H = '{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"1","raft_term":"2"}';
const header: ResponseHeader = { clusterId: 1n, memberId: 2n, revision: 1, raftTerm: 2 };
const b = bytesFromString;

let server: Server;
let url: string;
const seen: Array<{ path: string; body: string }> = [];
const answers = new Map<string, string>();
before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answers.get(req.url ?? '') ?? `{"header":${H}}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function capture(format: Output['format'] = 'simple'): Output & { text: () => string } {
  let text = '';
  return { format, write: (s) => void (text += s), text: () => text };
}
const client = (): AuthClient => new AuthClient({ endpoints: [url], timeoutMs: 2000 });
const lastBody = (): string => seen.at(-1)?.body ?? '';

/** Passwords from a script: `asks` answer prompts (recorded), `stdin` is the piped input. */
function passwords(o: { tty: boolean; asks?: string[]; stdin?: string }): PasswordInput & { prompts: string[] } {
  const asks = [...(o.asks ?? [])];
  const prompts: string[] = [];
  return {
    interactive: o.tty,
    prompts,
    ask: async (p) => {
      prompts.push(p);
      return asks.shift() ?? '';
    },
    line: async () => firstLine(o.stdin ?? ''),
  };
}
const noInput = passwords({ tty: false });

// ---------------------------------------------------------------------------------------------
// Pure parts

test('role get text: READWRITE under both, single keys bare, ranges half-open, "\\0" open ended, prefixes noted', () => {
  const res: AuthRoleGetResponse = {
    header,
    perm: [
      { permType: 'READ', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
      { permType: 'READ', key: b('a'), rangeEnd: b('z') },
      { permType: 'READ', key: b('f'), rangeEnd: new Uint8Array([0]) },
      { permType: 'READWRITE', key: b('k1'), rangeEnd: new Uint8Array(0) },
      { permType: 'WRITE', key: b('p/'), rangeEnd: b('p0') },
    ],
  };
  // etcdctl 3.4.23 `role get writer` after the grants of the CLI test below.
  assert.equal(formatRole('writer', res), 'Role writer\nKV Read:\n\t[\0, <open ended>\n\t[a, z)\n\t[f, <open ended>\n\tk1\nKV Write:\n\tk1\n\t[p/, p0) (prefix p/)\n');
  assert.equal(formatRole('root', { header, perm: [] }), 'Role root\nKV Read:\nKV Write:\n');
  assert.equal(formatRole('r', { header, perm: [{ permType: 'READ', key: b('a'), rangeEnd: b('b') }] }), 'Role r\nKV Read:\n\t[a, b) (prefix a)\nKV Write:\n');
});

test('permission ranges as etcdctl computes them', () => {
  const r = (key: string, end: string | undefined, o: { prefix?: boolean; fromKey?: boolean } = {}): [string, string] => {
    const x = permRange(key, end, o);
    return [Buffer.from(x.key).toString('latin1'), Buffer.from(x.rangeEnd).toString('latin1')];
  };
  assert.deepEqual(r('k1', undefined), ['k1', '']);
  assert.deepEqual(r('a', 'z'), ['a', 'z']);
  assert.deepEqual(r('p/', undefined, { prefix: true }), ['p/', 'p0']);
  assert.deepEqual(r('f', undefined, { fromKey: true }), ['f', '\0']);
  // The empty key with --prefix or --from-key is the whole key space: ["\0", "\0").
  assert.deepEqual(r('', undefined, { prefix: true }), ['\0', '\0']);
  assert.deepEqual(r('', undefined, { fromKey: true }), ['\0', '\0']);
  assert.deepEqual(r('', undefined), ['\0', '']);
  assert.throws(() => permRange('k', 'x', { prefix: true }), new UsageError('unexpected endkey argument with --prefix flag'));
  assert.throws(() => permRange('k', 'x', { fromKey: true }), new UsageError('unexpected endkey argument with --from-key flag'));
  assert.throws(() => permRange('k', undefined, { prefix: true, fromKey: true }), new UsageError('--from-key and --prefix flags are mutually exclusive'));
});

test('permission types in any case; anything else is etcdctl\'s error', () => {
  assert.equal(parsePermType('read'), 'READ');
  assert.equal(parsePermType('Write'), 'WRITE');
  assert.equal(parsePermType('READWRITE'), 'READWRITE');
  for (const bad of ['bogus', 'rw', '', '0']) assert.throws(() => parsePermType(bad), new UsageError(`invalid permission type: ${bad}`));
});

test('--interactive takes Go bool spellings', () => {
  assert.equal(parseBoolFlag('interactive', undefined, true), true);
  assert.equal(parseBoolFlag('interactive', 'false', true), false);
  assert.equal(parseBoolFlag('interactive', '0', true), false);
  assert.equal(parseBoolFlag('interactive', 'TRUE', false), true);
  assert.throws(() => parseBoolFlag('interactive', 'nope', true), UsageError);
});

test('new passwords: asked twice on a terminal and compared; else the first line of stdin; never empty', async () => {
  const tty = passwords({ tty: true, asks: ['s3cretpw', 's3cretpw'] });
  assert.equal(await readNewPassword('alice', true, tty), 's3cretpw');
  assert.deepEqual(tty.prompts, ['Password of alice: ', 'Type password of alice again for confirmation: ']);
  await assert.rejects(readNewPassword('alice', true, passwords({ tty: true, asks: ['a1', 'a2'] })), new UsageError('given passwords are different'));
  await assert.rejects(readNewPassword('alice', true, passwords({ tty: true, asks: [''] })), new UsageError('empty password'));
  // --interactive=false, or no terminal: stdin's first line, spaces kept, CRLF stripped.
  assert.equal(await readNewPassword('a', false, passwords({ tty: true, stdin: 'pass word\r\nmore\n' })), 'pass word');
  assert.equal(await readNewPassword('a', true, passwords({ tty: false, stdin: 'pw1\n' })), 'pw1');
  await assert.rejects(readNewPassword('a', true, passwords({ tty: false, stdin: '' })), new UsageError('empty password'));
  await assert.rejects(readNewPassword('a', true, passwords({ tty: false, stdin: '\nx' })), new UsageError('empty password'));
});

test('--user name[:password] splits at the first colon; with --password the whole value is the name', async () => {
  assert.deepEqual(await loginCredentials('root:pw:x', undefined, noInput), { name: 'root', password: 'pw:x' });
  assert.deepEqual(await loginCredentials('ro:ot', 'pw', noInput), { name: 'ro:ot', password: 'pw' });
  const tty = passwords({ tty: true, asks: ['typed'] });
  assert.deepEqual(await loginCredentials('root', undefined, tty), { name: 'root', password: 'typed' });
  assert.deepEqual(tty.prompts, ['Password: ']);
  assert.deepEqual(await loginCredentials('root', undefined, passwords({ tty: false, stdin: 'piped\n' })), { name: 'root', password: 'piped' });
});

// ---------------------------------------------------------------------------------------------
// Commands (fake server, see the top)

test('auth enable / disable / status print etcdctl\'s lines; -w json the API response', async () => {
  const c = client();
  let out = capture();
  await runAuthEnable(c, out);
  assert.equal(out.text(), 'Authentication Enabled\n');
  out = capture();
  await runAuthDisable(c, out);
  assert.equal(out.text(), 'Authentication Disabled\n');
  answers.set('/v3/auth/status', `{"header":${H},"enabled":true,"authRevision":"9"}`);
  out = capture();
  await runAuthStatus(c, out);
  assert.equal(out.text(), 'Authentication Status: true\nAuthRevision: 9\n');
  answers.set('/v3/auth/status', `{"header":${H}}`);
  out = capture();
  await runAuthStatus(c, out);
  assert.equal(out.text(), 'Authentication Status: false\nAuthRevision: 0\n');
  out = capture('json');
  await runAuthEnable(c, out);
  assert.equal(out.text(), `{"header":${H}}\n`);
  await assert.rejects(runAuthEnable(c, capture('table')), new UsageError('table not supported as output format'));
});

test('user add: NAME:PASSWORD, --new-user-password, stdin, --no-password; "User NAME created"', async () => {
  const c = client();
  let out = capture();
  await runUserAdd(c, out, ['eve:evepw:x'], {}, noInput);
  assert.equal(out.text(), 'User eve created\n');
  assert.equal(lastBody(), '{"name":"eve","password":"evepw:x"}');
  out = capture();
  await runUserAdd(c, out, ['gus'], { newUserPassword: 'guspw123' }, noInput);
  assert.equal(out.text(), 'User gus created\n');
  assert.equal(lastBody(), '{"name":"gus","password":"guspw123"}');
  out = capture();
  await runUserAdd(c, out, ['fay'], { interactive: 'false' }, passwords({ tty: true, stdin: 'faypw123\n' }));
  assert.equal(lastBody(), '{"name":"fay","password":"faypw123"}');
  out = capture();
  await runUserAdd(c, out, ['hal'], { noPassword: true }, noInput);
  assert.equal(out.text(), 'User hal created\n');
  assert.equal(lastBody(), '{"name":"hal","options":{"no_password":true}}');
  out = capture('json');
  await runUserAdd(c, out, ['j1:pw'], {}, noInput);
  assert.equal(out.text(), `{"header":${H}}\n`);
});

test('user add / passwd argument errors are etcdctl\'s, before anything is sent', async () => {
  const c = client();
  const before = seen.length;
  await assert.rejects(runUserAdd(c, capture(), [], {}, noInput), new UsageError('user add command requires user name as its argument'));
  await assert.rejects(runUserAdd(c, capture(), [':pw'], {}, noInput), new UsageError('empty user name is not allowed'));
  await assert.rejects(runUserAdd(c, capture(), ['zed'], {}, passwords({ tty: false, stdin: '' })), new UsageError('empty password'));
  await assert.rejects(runUserPasswd(c, capture(), [], {}, noInput), new UsageError('user passwd command requires user name as its argument'));
  await assert.rejects(runUserGet(c, capture(), [], {}), new UsageError('user get command requires user name as its argument'));
  await assert.rejects(runUserDelete(c, capture(), []), new UsageError('user delete command requires user name as its argument'));
  await assert.rejects(runUserGrantRole(c, capture(), ['a']), new UsageError('user grant command requires user name and role name as its argument'));
  await assert.rejects(runUserRevokeRole(c, capture(), ['a', 'b', 'c']), new UsageError('user revoke-role requires user name and role name as its argument'));
  await assert.rejects(runRoleAdd(c, capture(), []), new UsageError('role add command requires role name as its argument'));
  await assert.rejects(runRoleGet(c, capture(), []), new UsageError('role get command requires role name as its argument'));
  await assert.rejects(runRoleDelete(c, capture(), []), new UsageError('role delete command requires role name as its argument'));
  const grantUsage = new UsageError('role grant command requires role name, permission type, and key [endkey] as its argument');
  await assert.rejects(runRoleGrantPermission(c, capture(), ['r', 'read'], {}), grantUsage);
  await assert.rejects(runRoleGrantPermission(c, capture(), ['r', 'read', 'a', 'b', 'c'], {}), grantUsage);
  await assert.rejects(runRoleGrantPermission(c, capture(), ['r', 'bogus', 'k'], {}), new UsageError('invalid permission type: bogus'));
  await assert.rejects(runRoleGrantPermission(c, capture(), ['r', 'read', 'k', 'x'], { prefix: true }), new UsageError('unexpected endkey argument with --prefix flag'));
  await assert.rejects(runRoleRevokePermission(c, capture(), ['r'], {}), new UsageError('role revoke-permission command requires role name and key [endkey] as its argument'));
  assert.equal(seen.length, before);
});

test('user passwd, delete, grant-role, revoke-role print etcdctl\'s sentences', async () => {
  const c = client();
  let out = capture();
  await runUserPasswd(c, out, ['eve'], { interactive: 'false' }, passwords({ tty: false, stdin: 'newpw123\n' }));
  assert.equal(out.text(), 'Password updated\n');
  assert.equal(lastBody(), '{"name":"eve","password":"newpw123"}');
  out = capture();
  await runUserPasswd(c, out, ['eve'], { newUserPassword: 'abcdefgh' }, noInput);
  assert.equal(lastBody(), '{"name":"eve","password":"abcdefgh"}');
  out = capture();
  await runUserDelete(c, out, ['hal']);
  assert.equal(out.text(), 'User hal deleted\n');
  out = capture();
  await runUserGrantRole(c, out, ['eve', 'writer']);
  assert.equal(out.text(), 'Role writer is granted to user eve\n');
  assert.equal(lastBody(), '{"user":"eve","role":"writer"}');
  out = capture();
  await runUserRevokeRole(c, out, ['eve', 'writer']);
  assert.equal(out.text(), 'Role writer is revoked from user eve\n');
  assert.equal(lastBody(), '{"name":"eve","role":"writer"}');
});

test('user get (with --detail), user list, role list: etcdctl\'s text', async () => {
  const c = client();
  answers.set('/v3/auth/user/get', `{"header":${H},"roles":["reader","root"]}`);
  answers.set('/v3/auth/role/get', `{"header":${H},"perm":[{"key":"eA=="}]}`);
  let out = capture();
  await runUserGet(c, out, ['alice'], {});
  assert.equal(out.text(), 'User: alice\nRoles: reader root\n');
  out = capture();
  await runUserGet(c, out, ['alice'], { detail: true });
  assert.equal(out.text(), 'User: alice\n\nRole reader\nKV Read:\n\tx\nKV Write:\n\nRole root\nKV Read:\n\tx\nKV Write:\n');
  out = capture('json');
  await runUserGet(c, out, ['alice'], { detail: true });
  assert.equal(out.text(), `{"header":${H},"roles":["reader","root"]}\n{"header":${H},"perm":[{"key":"eA=="}]}\n{"header":${H},"perm":[{"key":"eA=="}]}\n`);
  answers.set('/v3/auth/user/get', `{"header":${H}}`);
  out = capture();
  await runUserGet(c, out, ['bob'], {});
  assert.equal(out.text(), 'User: bob\nRoles:\n');

  answers.set('/v3/auth/user/list', `{"header":${H},"users":["alice","bob","root"]}`);
  out = capture();
  await runUserList(c, out);
  assert.equal(out.text(), 'alice\nbob\nroot\n');
  out = capture('json');
  await runUserList(c, out);
  assert.equal(out.text(), `{"header":${H},"users":["alice","bob","root"]}\n`);
  answers.set('/v3/auth/role/list', `{"header":${H},"roles":["reader","root"]}`);
  out = capture();
  await runRoleList(c, out);
  assert.equal(out.text(), 'reader\nroot\n');
  answers.set('/v3/auth/user/list', `{"header":${H}}`);
  out = capture();
  await runUserList(c, out);
  assert.equal(out.text(), '');
});

test('role add / get / delete / grant-permission / revoke-permission', async () => {
  const c = client();
  let out = capture();
  await runRoleAdd(c, out, ['writer']);
  assert.equal(out.text(), 'Role writer created\n');
  assert.equal(lastBody(), '{"name":"writer"}');
  const grants: Array<[string[], { prefix?: boolean; fromKey?: boolean }, string]> = [
    [['writer', 'readwrite', 'k1'], {}, '{"name":"writer","perm":{"permType":"READWRITE","key":"azE="}}'],
    [['writer', 'write', 'p/'], { prefix: true }, '{"name":"writer","perm":{"permType":"WRITE","key":"cC8=","range_end":"cDA="}}'],
    [['writer', 'read', 'f'], { fromKey: true }, '{"name":"writer","perm":{"key":"Zg==","range_end":"AA=="}}'],
    [['writer', 'READ', 'a', 'z'], {}, '{"name":"writer","perm":{"key":"YQ==","range_end":"eg=="}}'],
    [['writer', 'read', ''], { prefix: true }, '{"name":"writer","perm":{"key":"AA==","range_end":"AA=="}}'],
  ];
  for (const [args, o, body] of grants) {
    out = capture();
    await runRoleGrantPermission(c, out, args, o);
    assert.equal(out.text(), 'Role writer updated\n');
    assert.equal(lastBody(), body);
  }
  answers.set('/v3/auth/role/get', `{"header":${H},"perm":[{"key":"AA==","range_end":"AA=="},{"permType":"READWRITE","key":"azE="}]}`);
  out = capture();
  await runRoleGet(c, out, ['writer']);
  assert.equal(out.text(), 'Role writer\nKV Read:\n\t[\0, <open ended>\n\tk1\nKV Write:\n\tk1\n');
  assert.equal(lastBody(), '{"role":"writer"}');
  out = capture('json');
  await runRoleGet(c, out, ['writer']);
  assert.equal(out.text(), `{"header":${H},"perm":[{"key":"AA==","range_end":"AA=="},{"permType":"READWRITE","key":"azE="}]}\n`);

  out = capture();
  await runRoleRevokePermission(c, out, ['writer', 'k1'], {});
  assert.equal(out.text(), 'Permission of key k1 is revoked from role writer\n');
  assert.equal(lastBody(), '{"role":"writer","key":"azE="}');
  out = capture();
  await runRoleRevokePermission(c, out, ['writer', 'p/'], { prefix: true });
  assert.equal(out.text(), 'Permission of range [p/, p0) is revoked from role writer\n');
  out = capture();
  await runRoleRevokePermission(c, out, ['writer', 'f'], { fromKey: true });
  assert.equal(out.text(), 'Permission of range [f, \0) is revoked from role writer\n');
  assert.equal(lastBody(), '{"role":"writer","key":"Zg==","range_end":"AA=="}');
  out = capture();
  await runRoleDelete(c, out, ['writer']);
  assert.equal(out.text(), 'Role writer deleted\n');
  assert.equal(lastBody(), '{"role":"writer"}');
});

// ---------------------------------------------------------------------------------------------
// The real binary: registration in main.ts, argument errors, --user login

test('keyward user/role/auth are registered; argument errors exit 2 with etcdctl\'s text', async () => {
  const help = await runKeyward(['--help']);
  assert.equal(help.code, 0);
  for (const cmd of ['auth', 'user', 'role']) assert.match(help.stdout, new RegExp(`\\n  ${cmd} `));
  assert.match(help.stdout, /--user <name\[:password\]>/);
  const r1 = await runKeyward(['--endpoints', url, 'role', 'grant-permission', 'r', 'read']);
  assert.deepEqual([r1.code, r1.stderr], [2, 'keyward: role grant command requires role name, permission type, and key [endkey] as its argument\n']);
  const r2 = await runKeyward(['--endpoints', url, 'user', 'add', 'zed', '--interactive=false'], '');
  assert.deepEqual([r2.code, r2.stderr], [2, 'keyward: empty password\n']);
});

test('keyward --user authenticates before the command, with the password split off the name', async () => {
  answers.set('/v3/auth/authenticate', `{"header":${H},"token":"kAjWFwrGFFqupQat.55"}`);
  answers.set('/v3/auth/role/list', `{"header":${H},"roles":["reader","root"]}`);
  const before = seen.length;
  const r = await runKeyward(['--endpoints', url, '--user', 'root:rootpw12', 'role', 'list']);
  // A password to a plaintext endpoint is sent, with a warning (the fake server speaks http).
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'reader\nroot\n', `keyward: WARNING: the password and token go over plaintext to ${url}\n`]);
  assert.deepEqual(
    seen.slice(before).map((s) => [s.path, s.body]),
    [
      ['/v3/auth/authenticate', '{"name":"root","password":"rootpw12"}'],
      ['/v3/auth/role/list', '{}'],
    ],
  );
  // Piped password when --user has none.
  const r2 = await runKeyward(['--endpoints', url, '--user', 'alice', 'user', 'list'], 'alicepw1\n');
  assert.equal(r2.code, 0);
  assert.ok(seen.some((s) => s.body === '{"name":"alice","password":"alicepw1"}'));
});
