import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthTable } from '../../src/auth/index.js';
import { AuthFixture } from './helpers.js';

// AuthTable caches decoded records between writes (every request reads the meta record and its
// user). The cache must never answer with state that did not commit, nor miss a change.

async function withFixture(fn: (f: AuthFixture) => Promise<void> | void): Promise<void> {
  const f = new AuthFixture();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

test('after committed(), reads are served from the cache and every later write is seen', () =>
  withFixture((f) => {
    f.must({ type: 'userAdd', name: 'alice', noPassword: true });
    f.table.committed();
    const a = f.table.getUser('alice');
    assert.ok(a !== undefined);
    assert.equal(f.table.getUser('alice'), a, 'the same record object: cached');
    assert.equal(f.table.state(), f.table.state());
    assert.throws(() => (a.roles as string[]).push('root'), TypeError, 'cached records are frozen');
    f.must({ type: 'roleAdd', name: 'r' }, { type: 'userGrantRole', user: 'alice', role: 'r' });
    assert.deepEqual(f.table.getUser('alice')?.roles, ['r'], 'a write drops the cache at once');
    f.table.committed();
    assert.deepEqual(f.table.getUser('alice')?.roles, ['r']);
  }));

test('reads inside a transaction that aborts leave nothing behind in the cache', () =>
  withFixture((f) => {
    f.must({ type: 'userAdd', name: 'alice', noPassword: true });
    f.table.committed();
    const before = f.table.revision();
    assert.throws(() =>
      f.storage.transactSync((txn) => {
        f.table.putState(txn, { ...f.table.state(), revision: before + 7 });
        f.table.putUser(txn, { name: 'mallory', roles: ['root'], noPassword: true, credentialRevision: before + 7 });
        assert.equal(f.table.revision(), before + 7, 'the transaction sees its own write');
        assert.ok(f.table.getUser('mallory') !== undefined);
        throw new Error('abort');
      }),
    );
    assert.equal(f.table.revision(), before);
    assert.equal(f.table.getUser('mallory'), undefined);
  }));

test('invalidate() shows tables written behind the instance (a restored snapshot)', () =>
  withFixture((f) => {
    f.table.committed();
    assert.equal(f.table.getUser('bob'), undefined);
    // Another instance over the same storage stands for the snapshot restore's raw writes.
    const other = new AuthTable(f.storage);
    f.storage.transactSync((txn) => other.putUser(txn, { name: 'bob', roles: [], noPassword: true, credentialRevision: 1 }));
    assert.equal(f.table.getUser('bob'), undefined, 'the cached miss stands until told');
    f.table.invalidate();
    assert.equal(f.table.getUser('bob')?.name, 'bob');
  }));
