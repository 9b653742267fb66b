import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthClient, KeywardError } from '../../src/client/index.js';
import { isPolicyError, runPolicyApply } from '../../src/policy/index.js';
import { startAuthMember, type AuthedMember } from '../security/helpers.js';
import { authRevision, policyDir, snapshot } from './helpers.js';

// A policy applied to a REAL member with auth enabled: passwords come from a file and the
// environment and work for logging in; re-applying as root changes nothing; rotation changes the
// passwords (old ones stop working, A13); a non-admin cannot apply.

let m: AuthedMember;
const dir = policyDir({
  'cluster.yaml': `
kind: User
name: root
auth: {passwordFile: secrets/root.pw}
roles: [root]
---
kind: Role
name: readers
permissions: [{permType: READ, prefix: "app/"}]
---
kind: User
name: alice
auth: {passwordEnv: ALICE_PW}
roles: [readers]
`,
  'secrets/root.pw': 'root-password-1\n',
});
const env: NodeJS.ProcessEnv = { ALICE_PW: 'alice-password-1' };

before(async () => {
  m = await startAuthMember();
});
after(async () => {
  await m?.dispose();
  dir.cleanup();
});

test('A15: passwords from a file and an env var work for login; applied again as root: no changes; rotation replaces them (real member, auth on)', async () => {
  const open = new AuthClient({ endpoints: [m.url], timeoutMs: 5000 });
  const r1 = await runPolicyApply(dir.path, {}, { auth: open, env });
  assert.deepEqual(r1.diff.split('\n'), [
    '+ role readers',
    '+ role readers READ prefix "app/"',
    '+ user alice (password from environment variable ALICE_PW)',
    '+ user alice role readers',
    `+ user root (password from file ${join(dir.path, 'secrets', 'root.pw')})`,
    '+ user root role root',
  ]);
  // Nothing printed or returned carries a password.
  assert.ok(!JSON.stringify(r1.ops).includes('password-1'));
  await open.enable();

  const admin = new AuthClient({ endpoints: [m.url], timeoutMs: 5000, auth: { user: 'root', password: 'root-password-1' } });
  const rev = await authRevision(admin);
  assert.deepEqual((await runPolicyApply(dir.path, {}, { auth: admin, env })).ops, []);
  assert.equal(await authRevision(admin), rev);
  assert.equal(typeof (await open.authenticate('alice', 'alice-password-1')), 'string');

  // A non-admin reads no user list: the apply fails before planning, and nothing changed.
  const alice = new AuthClient({ endpoints: [m.url], timeoutMs: 5000, auth: { user: 'alice', password: 'alice-password-1' } });
  const before = await snapshot(admin);
  await assert.rejects(runPolicyApply(dir.path, {}, { auth: alice, env }), (e: unknown) => e instanceof KeywardError && e.code === 'PERMISSION_DENIED');
  assert.equal(await snapshot(admin), before);

  // Rotation: every password user gets its password again from its source (root last, by name).
  env['ALICE_PW'] = 'alice-password-2';
  writeFileSync(join(dir.path, 'secrets', 'root.pw'), 'root-password-2\n');
  const r2 = await runPolicyApply(dir.path, { rotatePasswords: true }, { auth: admin, env });
  assert.deepEqual(r2.diff.split('\n'), [
    '~ user alice password (password from environment variable ALICE_PW)',
    `~ user root password (password from file ${join(dir.path, 'secrets', 'root.pw')})`,
  ]);
  await assert.rejects(open.authenticate('alice', 'alice-password-1'), (e: unknown) => e instanceof KeywardError && e.code === 'AUTH_FAILED');
  assert.equal(typeof (await open.authenticate('alice', 'alice-password-2')), 'string');
  const admin2 = new AuthClient({ endpoints: [m.url], timeoutMs: 5000, auth: { user: 'root', password: 'root-password-2' } });
  assert.deepEqual((await runPolicyApply(dir.path, {}, { auth: admin2, env })).ops, []);
});

test('a refused operation stops the apply and says which one and how many ran (real member, auth on)', async () => {
  const admin = new AuthClient({ endpoints: [m.url], timeoutMs: 5000, auth: { user: 'root', password: 'root-password-2' } });
  // Revoking root's role while auth is on is refused by the cluster (etcd's rule).
  const bad = policyDir({ 'c.yaml': 'kind: Role\nname: zz\n---\nkind: User\nname: root\nauth: {existing: true}\nroles: []\n' });
  try {
    await assert.rejects(
      runPolicyApply(bad.path, {}, { auth: admin, env }),
      (e: unknown) => isPolicyError(e, 'APPLY_FAILED') && /^- user root role root: refused: .*\(1 of 2 operations were applied before it; apply again to continue\)$/.test(e.message),
    );
    // The role before it was added (root's role has no record here: etcd lets it be granted without one).
    assert.deepEqual((await admin.roleList()).roles, ['readers', 'zz']);
  } finally {
    bad.cleanup();
  }
});
