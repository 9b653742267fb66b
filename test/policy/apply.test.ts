import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthClient } from '../../src/client/index.js';
import { isPolicyError, runPolicyApply, runPolicyExport, type PolicyDeps } from '../../src/policy/index.js';
import { startAuthMember, type AuthedMember } from '../security/helpers.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { authRevision, policyDir, snapshot, wipe, writeFiles } from './helpers.js';

// Policy apply, dry-run, refusal and export against a REAL member (in-process server, real HTTP,
// auth disabled so the test client may manage users and roles; tests/policy/apply-auth.test.ts
// runs with auth on). Cluster users and roles only: tenants have no API yet (tenants.test.ts).

let m: AuthedMember;
let auth: AuthClient;
const env = { APP_PW: 'app-password-1', OPS_PW: 'ops-password-1' };
const deps = (extra: Partial<PolicyDeps> = {}): PolicyDeps => ({ auth, env, ...extra });

before(async () => {
  m = await startAuthMember();
  auth = new AuthClient({ endpoints: [m.url], timeoutMs: 5000 });
});
after(async () => {
  await m?.dispose();
});
beforeEach(async () => {
  await wipe(auth);
});

const CLUSTER = `
kind: Role
name: config-readers
permissions:
  - {permType: READ, prefix: config/}
  - {permType: READ, key: motd}
---
kind: Role
name: config-writers
permissions:
  - {permType: READWRITE, prefix: config/}
  - {permType: WRITE, fromKey: logs/}
---
kind: User
name: app
auth: {passwordEnv: APP_PW}
roles: [config-readers]
---
kind: User
name: deployer
auth: {certificate: true}
roles: [config-readers, config-writers]
`;

const CREATE_DIFF = [
  '+ role config-readers',
  '+ role config-readers READ prefix "config/"',
  '+ role config-readers READ key "motd"',
  '+ role config-writers',
  '+ role config-writers READWRITE prefix "config/"',
  '+ role config-writers WRITE fromKey "logs/"',
  '+ user app (password from environment variable APP_PW)',
  '+ user app role config-readers',
  '+ user deployer (certificate)',
  '+ user deployer role config-readers',
  '+ user deployer role config-writers',
];

test('dry-run prints the diff and changes nothing (real member)', async () => {
  const dir = policyDir({ 'cluster.yaml': CLUSTER });
  try {
    const before = await snapshot(auth);
    const rev = await authRevision(auth);
    const lines: string[] = [];
    const r = await runPolicyApply(dir.path, { dryRun: true }, deps({ out: (l) => lines.push(l) }));
    assert.deepEqual(lines, CREATE_DIFF);
    assert.equal(r.applied, 0);
    assert.equal(r.ops.length, CREATE_DIFF.length);
    assert.equal(await snapshot(auth), before);
    assert.equal(await authRevision(auth), rev);
  } finally {
    dir.cleanup();
  }
});

test('apply creates roles, permissions, users and bindings; applying again is a no-op (real member)', async () => {
  const dir = policyDir({ 'cluster.yaml': CLUSTER });
  try {
    const r1 = await runPolicyApply(dir.path, {}, deps());
    assert.equal(r1.diff, CREATE_DIFF.join('\n'));
    assert.equal(r1.applied, CREATE_DIFF.length);
    assert.deepEqual((await auth.userGet('deployer')).roles, ['config-readers', 'config-writers']);
    const perms = (await auth.roleGet('config-writers')).perm.map((p) => [p.permType, Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString('hex')]);
    assert.deepEqual(perms, [
      ['READWRITE', 'config/', Buffer.from('config0').toString('hex')],
      ['WRITE', 'logs/', '00'],
    ]);
    const rev = await authRevision(auth);
    const state = await snapshot(auth);
    const lines: string[] = [];
    const r2 = await runPolicyApply(dir.path, {}, deps({ out: (l) => lines.push(l) }));
    assert.deepEqual(r2.ops, []);
    assert.deepEqual(lines, ['no changes']);
    assert.equal(await authRevision(auth), rev, 'the second apply changed the auth store');
    assert.equal(await snapshot(auth), state);
  } finally {
    dir.cleanup();
  }
});

test('a bad file refuses the whole apply with its line, even beside good files (real member: nothing changed)', async () => {
  const dir = policyDir({ 'a-good.yaml': CLUSTER, 'b-bad.yaml': 'kind: Role\nname: extra\npermissions:\n  - {permType: READ, prefix: x/, colour: red}\n' });
  try {
    const before = await snapshot(auth);
    const rev = await authRevision(auth);
    await assert.rejects(
      runPolicyApply(dir.path, {}, deps()),
      (e: unknown) => isPolicyError(e, 'INVALID_POLICY') && e.message.includes(`${join(dir.path, 'b-bad.yaml')}:4:34: permissions[0].colour: unknown key`),
    );
    assert.equal(await snapshot(auth), before);
    assert.equal(await authRevision(auth), rev);
  } finally {
    dir.cleanup();
  }
});

test('a missing password source refuses the whole apply, naming user and source and no password (real member)', async () => {
  const dir = policyDir({ 'cluster.yaml': `${CLUSTER}---\nkind: User\nname: ops\nauth: {passwordFile: secrets/ops.pw}\n` });
  try {
    const rev = await authRevision(auth);
    let message = '';
    await assert.rejects(runPolicyApply(dir.path, {}, deps({ env: {} })), (e: unknown) => {
      message = (e as Error).message;
      return isPolicyError(e, 'SECRET_UNAVAILABLE');
    });
    assert.match(message, /user app: environment variable APP_PW is not set/);
    assert.match(message, new RegExp(`user ops: password file ${join(dir.path, 'secrets', 'ops.pw').replace(/[.]/g, '\\.')} cannot be read \\(ENOENT\\)`));
    assert.equal(await authRevision(auth), rev);
    // A password that is there is never printed, even when another is missing.
    writeFiles(dir.path, { 'secrets/ops.pw': 'short\n' });
    await assert.rejects(runPolicyApply(dir.path, { dryRun: true }, deps()), (e: unknown) => {
      message = (e as Error).message;
      return isPolicyError(e, 'SECRET_UNAVAILABLE');
    });
    assert.match(message, /password file .* holds a password shorter than 8 characters/);
    assert.ok(!message.includes('short\n') && !message.includes(env.APP_PW));
    assert.equal(await authRevision(auth), rev);
  } finally {
    dir.cleanup();
  }
});

test('declared roles and users are made exact; undeclared ones stay unless prune, which never deletes root (real member)', async () => {
  // Live state that differs from the policy in every way a policy cares about.
  await auth.roleAdd('config-readers');
  await auth.roleGrantPermission('config-readers', { permType: 'READWRITE', key: 'config/', rangeEnd: 'config0' }); // type differs
  await auth.roleGrantPermission('config-readers', { permType: 'READ', key: 'secret' }); // not in the policy
  await auth.roleAdd('legacy');
  await auth.roleAdd('root');
  await auth.userAdd('root', { noPassword: true });
  await auth.userGrantRole('root', 'root');
  await auth.userAdd('app', 'old-password-1');
  await auth.userGrantRole('app', 'legacy');
  await auth.userAdd('stranger', { noPassword: true });
  const dir = policyDir({ 'cluster.yaml': CLUSTER });
  try {
    const r = await runPolicyApply(dir.path, {}, deps());
    assert.deepEqual(r.diff.split('\n'), [
      '~ role config-readers prefix "config/" READWRITE -> READ',
      '+ role config-readers READ key "motd"',
      '- role config-readers READ key "secret"',
      '+ role config-writers',
      '+ role config-writers READWRITE prefix "config/"',
      '+ role config-writers WRITE fromKey "logs/"',
      // app exists: not re-passworded; its extra role is revoked.
      '+ user app role config-readers',
      '- user app role legacy',
      '+ user deployer (certificate)',
      '+ user deployer role config-readers',
      '+ user deployer role config-writers',
    ]);
    assert.deepEqual((await auth.roleList()).roles, ['config-readers', 'config-writers', 'legacy', 'root']);
    assert.deepEqual((await auth.userList()).users, ['app', 'deployer', 'root', 'stranger']);
    const pruned = await runPolicyApply(dir.path, { prune: true }, deps());
    assert.deepEqual(pruned.diff.split('\n'), ['- user stranger', '- role legacy']);
    assert.deepEqual((await auth.roleList()).roles, ['config-readers', 'config-writers', 'root']);
    assert.deepEqual((await auth.userList()).users, ['app', 'deployer', 'root']);
    assert.deepEqual((await runPolicyApply(dir.path, { prune: true }, deps())).ops, []);
  } finally {
    dir.cleanup();
  }
});

test('a policy declaring tenants is refused before anything changes while the cluster has no tenant API (real member)', async () => {
  const rev = await authRevision(auth);
  await assert.rejects(
    runPolicyApply('policies', {}, deps({ env: { KEYWARD_ACME_OPS_PASSWORD: 'acme-ops-pw', KEYWARD_GLOBEX_OPS_PASSWORD: 'globex-ops-pw' } })),
    (e: unknown) => isPolicyError(e, 'TENANTS_UNAVAILABLE') && /acme, globex/.test(e.message),
  );
  assert.equal(await authRevision(auth), rev);
});

test('export then apply is a no-op; export is deterministic (real member)', async () => {
  await auth.roleAdd('root');
  await auth.userAdd('root', { noPassword: true });
  await auth.userGrantRole('root', 'root');
  await auth.roleAdd('mixed');
  await auth.roleGrantPermission('mixed', { permType: 'READ', key: 'one' });
  await auth.roleGrantPermission('mixed', { permType: 'WRITE', key: 'app/', rangeEnd: 'app0' });
  await auth.roleGrantPermission('mixed', { permType: 'READWRITE', key: 'b', rangeEnd: 'd' });
  await auth.roleGrantPermission('mixed', { permType: 'READ', key: 'z', rangeEnd: '\0' });
  await auth.roleAdd('empty');
  await auth.userAdd('svc', 'svc-password-1');
  await auth.userGrantRole('svc', 'mixed');
  await auth.userGrantRole('svc', 'empty');
  const out = makeTmpDir('keyward-policy-export-');
  try {
    const written = await runPolicyExport(out.path, deps());
    assert.deepEqual(written, [join(out.path, 'cluster.yaml')]);
    const text = readFileSync(written[0]!, 'utf8');
    assert.equal(
      text,
      [
        '# Written by `keyward policy export`. Users carry `auth: {existing: true}` because the cluster does',
        '# not reveal how a user logs in; give a new user certificate: true, passwordFile or passwordEnv.',
        'kind: Role',
        'name: empty',
        'permissions: []',
        '---',
        'kind: Role',
        'name: mixed',
        'permissions:',
        '  - permType: WRITE',
        '    prefix: app/',
        '  - permType: READWRITE',
        '    key: b',
        '    rangeEnd: d',
        '  - permType: READ',
        '    key: one',
        '  - permType: READ',
        '    fromKey: z',
        '---',
        'kind: User',
        'name: root',
        'auth:',
        '  existing: true',
        'roles:',
        '  - root',
        '---',
        'kind: User',
        'name: svc',
        'auth:',
        '  existing: true',
        'roles:',
        '  - empty',
        '  - mixed',
        '',
      ].join('\n'),
    );
    const rev = await authRevision(auth);
    const r = await runPolicyApply(out.path, { prune: true }, deps());
    assert.deepEqual(r.ops, []);
    assert.equal(await authRevision(auth), rev);
    // Byte-identical on a second export; a directory with policy files is refused unless replace.
    await assert.rejects(runPolicyExport(out.path, deps()), (e: unknown) => isPolicyError(e, 'EXPORT_TARGET_NOT_EMPTY'));
    await runPolicyExport(out.path, deps(), { replace: true });
    assert.equal(readFileSync(written[0]!, 'utf8'), text);
    // And the export applies to an empty cluster only for users that exist: `existing` cannot create.
    await wipe(auth);
    await assert.rejects(runPolicyApply(out.path, {}, deps()), (e: unknown) => isPolicyError(e, 'INVALID_POLICY') && /user root does not exist/.test(e.message));
    assert.deepEqual((await auth.roleList()).roles, []);
  } finally {
    out.cleanup();
  }
});
