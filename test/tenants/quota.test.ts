import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQuota, keyDelta, quotaApplies, UNLIMITED_QUOTAS, UsageDeltas, ZERO_USAGE, type TenantUsage } from '../../src/tenants/index.js';
import { SUB_DBS } from '../../src/storage/index.js';
import { b, quotas, withFixture } from './helpers.js';

// Storage quotas and usage (src/tenants/quota.ts, table.ts): the exact boundary rule, bytes as
// virtual key length + value length, accounting by key location, net deltas per log entry, and
// lease ownership with its quota.

const usage = (keys: number, bytes = 0, leases = 0): TenantUsage => ({ keys, bytes, leases });

test('D5 boundary: a write that makes keys == maxKeys is allowed; one more is QUOTA_EXCEEDED naming maxKeys', () => {
  const q = quotas({ maxKeys: 3 });
  assert.equal(checkQuota(q, usage(2), usage(1)), undefined);
  const e = checkQuota(q, usage(3), usage(1));
  assert.deepEqual([e?.code, e?.limit, e?.limitValue], ['QUOTA_EXCEEDED', 'maxKeys', 3]);
  assert.equal(checkQuota(q, usage(1), usage(2)), undefined, 'two at once up to the limit');
  assert.equal(checkQuota(q, usage(1), usage(3))?.limit, 'maxKeys');
});

test('D5 boundary: bytes and leases likewise; the first exceeded limit is named (keys, bytes, leases)', () => {
  const q = quotas({ maxKeys: 10, maxBytes: 100, maxLeases: 2 });
  assert.equal(checkQuota(q, usage(0, 90), usage(1, 10)), undefined);
  assert.equal(checkQuota(q, usage(0, 90), usage(1, 11))?.limit, 'maxBytes');
  assert.equal(checkQuota(q, usage(0, 0, 1), usage(0, 0, 1)), undefined);
  assert.equal(checkQuota(q, usage(0, 0, 2), usage(0, 0, 1))?.limit, 'maxLeases');
  assert.equal(checkQuota(q, usage(10, 100, 2), usage(1, 1, 1))?.limit, 'maxKeys');
});

test('only growth is checked: deletes and shrinking writes pass above a lowered limit; 0 is unlimited', () => {
  const q = quotas({ maxKeys: 2, maxBytes: 10 });
  assert.equal(checkQuota(q, usage(5, 50), usage(-1, -5)), undefined);
  assert.equal(checkQuota(q, usage(5, 50), usage(0, -1)), undefined, 'an overwrite with a shorter value');
  assert.equal(checkQuota(q, usage(5, 50), usage(0, 1))?.limit, 'maxBytes', 'an overwrite that grows is refused');
  assert.equal(checkQuota(q, usage(5, 5), usage(0, 1)), undefined, 'keys over the limit but unchanged: only bytes is checked, and fits');
  assert.equal(checkQuota(quotas(), usage(1e9, 1e12, 1e6), usage(1, 1, 1)), undefined);
});

test('keyDelta: bytes are virtual key length + value length', () => {
  assert.deepEqual(keyDelta(3, undefined, 5), { keys: 1, bytes: 8, leases: 0 });
  assert.deepEqual(keyDelta(3, 5, 2), { keys: 0, bytes: -3, leases: 0 });
  assert.deepEqual(keyDelta(3, 5, undefined), { keys: -1, bytes: -8, leases: 0 });
  assert.deepEqual(keyDelta(3, undefined, undefined), ZERO_USAGE);
  assert.deepEqual(keyDelta(0, undefined, 0), { keys: 1, bytes: 0, leases: 0 }, 'the key that is exactly the prefix, empty value');
});

test('UsageDeltas: per tenant by key location (acme vs acme2), net per entry, non-tenant keys ignored', () => {
  const d = new UsageDeltas();
  d.addKeyChange(b('/t/acme/ab'), undefined, 4); // +1 key, 2 + 4 bytes
  d.addKeyChange(b('/t/acme2/x'), undefined, 1); // acme2: +1, 1 + 1
  d.addKeyChange(b('/t/acme/ab'), 4, 10); // +6 bytes
  d.addKeyChange(b('/t/acme/old'), 2, undefined); // -1 key, -(3 + 2)
  d.addKeyChange(b('/t/acme'), undefined, 100); // no tenant: no slash
  d.addKeyChange(b('/root'), undefined, 100);
  assert.deepEqual(d.entries(), [
    ['acme', { keys: 0, bytes: 7, leases: 0 }],
    ['acme2', { keys: 1, bytes: 2, leases: 0 }],
  ]);
});

test('UsageDeltas.check and commit against the table: the net change decides, at the exact boundary', () =>
  withFixture((f) => {
    f.must({ type: 'create', id: 'acme', quotas: quotas({ maxKeys: 2 }) });
    const put = (k: string, before?: number, after?: number): UsageDeltas => {
      const d = new UsageDeltas();
      d.addKeyChange(b(k), before, after);
      return d;
    };
    for (const k of ['/t/acme/a', '/t/acme/b']) {
      const d = put(k, undefined, 1);
      assert.equal(d.check(f.table), undefined);
      f.storage.transactSync((txn) => d.commit(f.table, txn));
    }
    assert.deepEqual(f.table.usage('acme'), { keys: 2, bytes: 4, leases: 0 });
    assert.equal(put('/t/acme/c', undefined, 1).check(f.table)?.limit, 'maxKeys', 'the third key is refused');
    // A txn that creates c and deletes a does not grow keys: admitted at the limit.
    const swap = put('/t/acme/c', undefined, 1);
    swap.addKeyChange(b('/t/acme/a'), 1, undefined);
    assert.equal(swap.check(f.table), undefined);
    // No record (keys a cluster administrator wrote under an unknown tenant's prefix): no quota.
    assert.equal(put('/t/nobody/x', undefined, 1e6).check(f.table), undefined);
  }));

test('usage rows: removed when they return to zero; a delta below zero is an accounting bug and throws', () =>
  withFixture((f) => {
    f.storage.transactSync((txn) => f.table.addUsage(txn, 'acme', { keys: 1, bytes: 5, leases: 0 }));
    assert.equal(f.storage.table(SUB_DBS.tenantsUsage).count(), 1);
    f.storage.transactSync((txn) => f.table.addUsage(txn, 'acme', { keys: -1, bytes: -5, leases: 0 }));
    assert.equal(f.storage.table(SUB_DBS.tenantsUsage).count(), 0);
    assert.throws(() => f.storage.transactSync((txn) => f.table.addUsage(txn, 'acme', { keys: -1, bytes: 0, leases: 0 })), /below zero/);
    assert.deepEqual(f.table.usage('acme'), ZERO_USAGE);
  }));

test('leases: ownership, maxLeases at the boundary (refused before any write), release, listing per tenant', () =>
  withFixture((f) => {
    f.must({ type: 'create', id: 'acme', quotas: quotas({ maxLeases: 2 }) }, { type: 'create', id: 'acme2', quotas: quotas() });
    f.storage.transactSync((txn) => {
      assert.equal(f.table.grantLease(txn, 'acme', 5n), undefined);
      assert.equal(f.table.grantLease(txn, 'acme', -1n), undefined);
      assert.equal(f.table.grantLease(txn, 'acme2', 9n), undefined);
      const e = f.table.grantLease(txn, 'acme', 6n);
      assert.deepEqual([e?.code, e?.limit], ['QUOTA_EXCEEDED', 'maxLeases']);
    });
    assert.equal(f.table.leaseOwner(6n), undefined, 'the refused grant wrote nothing');
    assert.deepEqual(f.table.leasesOf('acme'), [5n, -1n], 'int64 big-endian byte order');
    assert.deepEqual(f.table.leasesOf('acme2'), [9n], 'acme2 is not a prefix of acme\'s rows, nor the reverse');
    assert.deepEqual(f.table.usage('acme').leases, 2);
    f.storage.transactSync((txn) => {
      assert.equal(f.table.releaseLease(txn, 5n), 'acme');
      assert.equal(f.table.releaseLease(txn, 5n), undefined, 'twice: nothing to release');
      assert.equal(f.table.releaseLease(txn, 1234n), undefined, 'a cluster user\'s lease');
      assert.equal(f.table.grantLease(txn, 'acme', 6n), undefined, 'room again');
    });
    assert.deepEqual(f.table.leasesOf('acme'), [6n, -1n]);
    assert.equal(f.table.usage('acme').leases, 2);
  }));

test('D5 quotaApplies: only a grown dimension with a limit can be refused (the usage need not be read otherwise)', () => {
  const q = { ...UNLIMITED_QUOTAS, maxKeys: 3 };
  assert.equal(quotaApplies(UNLIMITED_QUOTAS, { keys: 1, bytes: 10, leases: 1 }), false);
  assert.equal(quotaApplies(q, { keys: 1, bytes: 0, leases: 0 }), true);
  assert.equal(quotaApplies(q, { keys: 0, bytes: 100, leases: 1 }), false, 'bytes and leases are unlimited here');
  assert.equal(quotaApplies(q, { keys: -1, bytes: 0, leases: 0 }), false, 'shrinking is never refused');
  // Agrees with checkQuota: where it says no, no usage can make checkQuota refuse.
  const huge = { keys: 1e9, bytes: 1e9, leases: 1e9 };
  for (const d of [{ keys: 0, bytes: 5, leases: 0 }, { keys: -2, bytes: 0, leases: 3 }]) assert.equal(checkQuota(q, huge, d), undefined);
});
