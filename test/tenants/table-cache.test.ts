import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenantTable } from '../../src/tenants/index.js';
import { quotas, withFixture } from './helpers.js';

// TenantTable caches decoded records between writes (admission and quota checks read them several
// times per request). It must never answer with a record that did not commit, nor miss a change.

test('after committed(), records come from the cache; a write is seen at once', () =>
  withFixture((f) => {
    f.must({ type: 'create', id: 'acme', quotas: quotas({ maxKeys: 5 }) });
    f.table.committed();
    const r = f.table.get('acme');
    assert.ok(r !== undefined);
    assert.equal(f.table.get('acme'), r, 'the same object: cached');
    assert.throws(() => ((r.quotas as { maxKeys: number }).maxKeys = 9), TypeError, 'cached records are frozen');
    f.must({ type: 'suspend', id: 'acme' });
    assert.equal(f.table.get('acme')?.status, 'suspended');
    assert.equal(f.table.admit('acme')?.code, 'TENANT_SUSPENDED');
  }));

test('a record read inside a transaction that aborts is not cached', () =>
  withFixture((f) => {
    f.must({ type: 'create', id: 'acme', quotas: quotas() });
    f.table.committed();
    assert.throws(() =>
      f.storage.transactSync((txn) => {
        const rec = f.table.get('acme')!;
        f.table.putRecord(txn, { ...rec, status: 'suspended' });
        assert.equal(f.table.get('acme')?.status, 'suspended', 'the transaction sees its own write');
        throw new Error('abort');
      }),
    );
    assert.equal(f.table.get('acme')?.status, 'active');
  }));

test('invalidate() shows records written behind the instance (a restored snapshot)', () =>
  withFixture((f) => {
    f.table.committed();
    assert.equal(f.table.get('globex'), undefined);
    const other = new TenantTable(f.storage);
    f.storage.transactSync((txn) => other.putRecord(txn, { id: 'globex', status: 'active', quotas: quotas(), createdRevision: 1, revision: 1 }));
    assert.equal(f.table.get('globex'), undefined, 'the cached miss stands until told');
    f.table.invalidate();
    assert.equal(f.table.get('globex')?.id, 'globex');
  }));
