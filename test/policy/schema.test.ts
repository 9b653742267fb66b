import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPolicyError, loadPolicyDir, parsePolicy, formatIssue, CLUSTER_SCOPE, type PolicySource } from '../../src/policy/index.js';
import { TENANT_ID } from '../../src/policy/parse.js';
import { isTenantId } from '../../src/tls/index.js';

// Validation of policy files: every problem with its exact file:line:column and document path,
// the whole policy refused on any of them.

/** The formatted issues of a policy that must be refused. */
function problems(...sources: PolicySource[]): string[] {
  try {
    parsePolicy(sources);
  } catch (e) {
    assert.ok(isPolicyError(e, 'INVALID_POLICY'), String(e));
    assert.match(e.message, /nothing was applied/);
    return e.issues.map(formatIssue);
  }
  assert.fail('the policy was accepted');
}

const tenant = 'kind: Tenant\nid: acme\n';

test('a valid policy: tenants, roles with the four range spellings, users of every auth kind', () => {
  const s = parsePolicy([
    {
      file: 'p/a.yaml',
      text: `${tenant}quotas:\n  maxKeys: 10\n---\nkind: Role\nname: r\ntenant: acme\npermissions:\n  - {permType: READ, key: k}\n  - {permType: WRITE, prefix: "a/"}\n  - {permType: READWRITE, fromKey: z}\n  - {permType: READ, key: b, rangeEnd: c}\n`,
    },
    { file: 'p/b.yml', text: 'kind: User\nname: u\ntenant: acme\nauth: {passwordFile: pw.txt}\nroles: [r]\n---\nkind: User\nname: root\nauth: {existing: true}\nroles: [root]\n---\n' },
  ]);
  assert.deepEqual(s.tenants?.get('acme'), { quotas: { maxKeys: 10 } });
  const perms = s.scopes.get('acme')!.roles.get('r')!.map((p) => [p.permType, Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString('hex')]);
  assert.deepEqual(perms, [
    ['WRITE', 'a/', '6130'], // prefix a/ -> [a/, a0)
    ['READ', 'b', '63'],
    ['READ', 'k', ''],
    ['READWRITE', 'z', '00'], // open-ended
  ]);
  // passwordFile is relative to the file that names it.
  assert.deepEqual(s.scopes.get('acme')!.users.get('u')!.auth, { kind: 'passwordFile', path: join('p', 'pw.txt') });
  assert.deepEqual(s.scopes.get(CLUSTER_SCOPE)!.users.get('root')!.roles, ['root']);
});

test('wrong type, unknown key, bad tenant id, bad permType: each at its line and column', () => {
  const text = [
    'kind: Tenant', // 1
    'id: Acme_1', // 2: bad tenant id
    'quotas:', // 3
    '  maxKeys: lots', // 4: wrong type
    '  maxKeyz: 5', // 5: unknown key
    '---', // 6
    'kind: Role', // 7
    'name: readers', // 8
    'permissions:', // 9
    '  - permType: RAED', // 10: bad permType
    '    prefix: app/', // 11
    '  - permType: READ', // 12
    '    key: a', // 13
    '    prefix: b', // 14: two range spellings
    'colour: blue', // 15: unknown key at the top
  ].join('\n');
  assert.deepEqual(problems({ file: 'policies/acme.yaml', text }), [
    'policies/acme.yaml:2:5: id: tenant id "Acme_1" is not accepted: 1-63 characters of a-z 0-9 and inner \'-\'',
    'policies/acme.yaml:5:3: quotas.maxKeyz: unknown key (expected maxKeys, maxBytes, maxLeases, maxWatchers, maxStreams or maxRequestsPerSecond)',
    'policies/acme.yaml:4:12: quotas.maxKeys: expected a whole number (0 = unlimited), got string "lots"',
    'policies/acme.yaml:15:1: colour: unknown key (expected kind, name, tenant or permissions)',
    'policies/acme.yaml:10:15: permissions[0].permType: expected READ, WRITE or READWRITE, got string "RAED"',
    'policies/acme.yaml:14:5: permissions[1]: give exactly one of key, prefix or fromKey (got key and prefix)',
  ]);
});

test('a password written inline is refused, and never repeated in the message', () => {
  const out = problems({ file: 'u.yaml', text: 'kind: User\nname: alice\nauth:\n  password: hunter2hunter2\n' });
  assert.deepEqual(out, ['u.yaml:4:3: auth.password: passwords are never written in a policy: use passwordFile (a file holding it) or passwordEnv (an environment variable)']);
  // A password pasted where a variable name belongs is not echoed either.
  const out2 = problems({ file: 'u.yaml', text: 'kind: User\nname: alice\nauth: {passwordEnv: "hunter2 hunter2"}\n' });
  assert.deepEqual(out2, ['u.yaml:3:21: auth.passwordEnv: expected an environment variable name (letters, digits and _, not starting with a digit)']);
  assert.ok(!out2.join('').includes('hunter2'));
});

test('a role defined in two files is refused with both locations', () => {
  const role = 'kind: Role\nname: readers\ntenant: acme\npermissions: []\n';
  assert.deepEqual(problems({ file: 'p/a.yaml', text: `${tenant}---\n${role}` }, { file: 'p/b.yaml', text: `# again\n${role}` }), [
    'p/b.yaml:3:7: name: role acme/readers is defined twice (also at p/a.yaml:5:7)',
  ]);
  // The same name in two scopes is two roles.
  parsePolicy([{ file: 'a.yaml', text: `${tenant}---\n${role}---\nkind: Role\nname: readers\n` }]);
});

test('references: undeclared tenant, undeclared role, role root, the same range twice, a user listing a role twice', () => {
  const text = [
    'kind: Role', // 1
    'name: r', // 2
    'tenant: nosuch', // 3
    '---', // 4
    'kind: User', // 5
    'name: u', // 6
    'auth: {certificate: true}', // 7
    'roles: [r, ghost, r]', // 8
    '---', // 9
    'kind: Role', // 10
    'name: r', // 11
    'permissions:', // 12
    '  - {permType: READ, prefix: a}', // 13
    '  - {permType: WRITE, prefix: a}', // 14
    '---', // 15
    'kind: Role', // 16
    'name: root', // 17
  ].join('\n');
  assert.deepEqual(problems({ file: 'x.yaml', text }), [
    'x.yaml:8:19: roles[2]: role r is listed twice (first at x.yaml:8:9)',
    'x.yaml:14:5: permissions[1]: the same range is granted twice (first at x.yaml:13:5); give it once with the type it should have',
    'x.yaml:17:7: name: role root is built in and cannot be declared',
    'x.yaml:3:9: tenant: tenant nosuch is not declared in this policy (add a document with kind: Tenant and id: nosuch)',
    'x.yaml:8:12: roles[1]: role ghost is not declared for the cluster (no tenant)',
  ]);
});

test('missing fields, YAML syntax errors, a document without kind, auth with two sources', () => {
  assert.deepEqual(problems({ file: 'a.yaml', text: 'kind: User\nname: u\n' }), ['a.yaml:1:1: missing auth']);
  assert.deepEqual(problems({ file: 'a.yaml', text: 'name: u\n' }), ['a.yaml:1:1: missing kind (Tenant, Role or User)']);
  assert.deepEqual(problems({ file: 'a.yaml', text: 'kind: Group\n' }), ['a.yaml:1:7: kind: expected Tenant, Role or User, got string "Group"']);
  assert.deepEqual(problems({ file: 'a.yaml', text: 'kind: User\nname: u\nauth: {certificate: true, passwordEnv: X}\n' }), [
    'a.yaml:3:27: auth: give exactly one of certificate: true, passwordFile, passwordEnv or existing: true (got certificate and passwordEnv)',
  ]);
  const syntax = problems({ file: 'a.yaml', text: 'kind: Role\nname: r\nname: s\n' });
  assert.equal(syntax.length, 1);
  assert.match(syntax[0]!, /^a\.yaml:3:1: YAML: Map keys must be unique/);
});

test('a directory: every *.yaml/*.yml file, subdirectories included; one bad file refuses all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-policy-'));
  try {
    mkdirSync(join(dir, 'tenants'));
    writeFileSync(join(dir, 'cluster.yaml'), 'kind: Role\nname: ops\n');
    writeFileSync(join(dir, 'tenants', 'acme.yml'), tenant);
    writeFileSync(join(dir, 'notes.txt'), 'not a policy');
    const s = loadPolicyDir(dir);
    assert.deepEqual([...s.tenants!.keys()], ['acme']);
    assert.deepEqual([...s.scopes.get(CLUSTER_SCOPE)!.roles.keys()], ['ops']);
    writeFileSync(join(dir, 'tenants', 'bad.yaml'), 'kind: Role\nname: "a b"\n');
    assert.throws(
      () => loadPolicyDir(dir),
      (e: unknown) => isPolicyError(e, 'INVALID_POLICY') && e.issues.length === 1 && formatIssue(e.issues[0]!) === `${join(dir, 'tenants', 'bad.yaml')}:2:7: name: role name "a b" is not accepted: 1-64 characters of A-Z a-z 0-9 . _ - @, starting and ending with a letter or digit`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory that is missing or holds no policy files is refused (a wrong path must not prune everything)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-policy-'));
  try {
    writeFileSync(join(dir, 'README.md'), '# nothing');
    assert.throws(() => loadPolicyDir(dir), (e: unknown) => isPolicyError(e, 'INVALID_POLICY') && e.message === `${dir} holds no policy files (*.yaml, *.yml); nothing was applied`);
    assert.throws(() => loadPolicyDir(join(dir, 'nope')), (e: unknown) => isPolicyError(e, 'INVALID_POLICY') && e.message === `cannot read policy directory ${join(dir, 'nope')} (ENOENT)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped example policies (policies/) are valid: two tenants with a reader, a writer, a certificate user and a password user', () => {
  const s = loadPolicyDir('policies');
  assert.deepEqual([...s.tenants!.keys()], ['acme', 'globex']);
  for (const t of ['acme', 'globex']) {
    const scope = s.scopes.get(t)!;
    assert.deepEqual([...scope.roles.keys()].sort(), ['readers', 'writers']);
    assert.equal(scope.users.get('app')!.auth.kind, 'certificate');
    assert.deepEqual(scope.users.get('ops')!.auth, { kind: 'passwordEnv', name: `KEYWARD_${t.toUpperCase()}_OPS_PASSWORD` });
  }
});

test('the tenant id rule is the certificate rule of src/tls', () => {
  const samples = ['acme', 'a', '0', 'a-b', '-a', 'a-', 'A', 'a_b', 'a.b', 'a'.repeat(63), 'a'.repeat(64), '', 'ü', 'a b'];
  for (const s of samples) assert.equal(TENANT_ID.test(s), isTenantId(s), s);
});
