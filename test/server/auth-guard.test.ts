import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, TokenService, applyAuthOp, isAuthError, type AuthOp } from '../../src/auth/index.js';
import { AuthManager, type AuthCheck } from '../../src/server/auth.js';
import { ALL_SUB_DBS, Storage } from '../../src/storage/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { perm } from '../auth/helpers.js';

// The apply-time guard tells a token from a certificate (the stamp's `token`): a token dies with
// any change of its user's credentials after it was checked (A13), while a certificate's request
// is checked again on the permissions as they are when it applies.

test('a change of the user after the edge check: the token stamp dies, the certificate stamp is re-checked', async () => {
  const dir = makeTmpDir('keyward-guard-');
  const storage = Storage.open(dir.sub('state'), { subDbs: ALL_SUB_DBS });
  try {
    const tokens = await TokenService.fromPem(await TokenService.generateKeyPem(), { audience: 'keyward:test', ttlSeconds: 300 });
    const m = new AuthManager(storage, { tokens });
    const must = (...ops: AuthOp[]): void => {
      for (const op of ops) {
        const r = storage.transactSync((txn) => applyAuthOp(m.table, txn, op));
        assert.ok(r.ok, `${op.type} refused`);
      }
      m.table.committed();
    };
    must(
      { type: 'userAdd', name: 'root', noPassword: true },
      { type: 'roleAdd', name: 'root' },
      { type: 'userGrantRole', user: 'root', role: 'root' },
      { type: 'enable' },
      { type: 'userAdd', name: 'alice', noPassword: true },
      { type: 'roleAdd', name: 'rw' },
      { type: 'roleGrantPermission', name: 'rw', perm: perm('READWRITE', 'a/', 'a0') },
      { type: 'userGrantRole', user: 'alice', role: 'rw' },
    );
    const key = new TextEncoder().encode('a/x');
    const write: AuthCheck = (c, u) => {
      if (!c.canWrite(u, key, new Uint8Array(0))) throw new AuthError('PERMISSION_DENIED');
    };
    const byCert = m.authorize({ principal: { user: 'alice' } }, write);
    const byToken = m.authorize({ principal: { user: 'alice', tokenRevision: m.table.revision() } }, write);
    assert.equal(byCert.token, undefined);
    assert.equal(byToken.token, true);

    // alice gains a role: her credentials changed, her permission to write a/x did not.
    must({ type: 'roleAdd', name: 'extra' }, { type: 'userGrantRole', user: 'alice', role: 'extra' });
    assert.equal(m.guard(byCert, write)?.(), undefined, 'the certificate request still may write');
    const dead = m.guard(byToken, write)?.();
    assert.ok(isAuthError(dead, 'INVALID_AUTH_TOKEN'), 'the token died with the change');

    // alice loses the role that allowed the write: the certificate request is refused as forbidden.
    must({ type: 'userRevokeRole', name: 'alice', role: 'rw' });
    assert.ok(isAuthError(m.guard(byCert, write)?.(), 'PERMISSION_DENIED'));
  } finally {
    await storage.close();
    dir.cleanup();
  }
});
