// Shared helpers of the tenants tests: byte strings written as latin1 text (so "\0" and "\xff" are
// single bytes), etcd's range matching rule as a brute-force model, and a real LMDB fixture for
// the tenant table that applies ops the way an apply batch does (one write transaction per op).
import { applyTenantOp, TenantTable, UNLIMITED_QUOTAS, type TenantOp, type TenantOpOutcome, type TenantQuotas } from '../../src/tenants/index.js';
import { Storage } from '../../src/storage/index.js';
import { compareBytes, equalBytes } from '../../src/adt/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

/** latin1: one byte per char, so "\xff" is the byte 0xff. */
export const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const s = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('latin1');

/** etcd's range rule: end "" = the key alone, "\0" = every key >= key, else [key, end). */
export function matches(k: Uint8Array, key: Uint8Array, end: Uint8Array): boolean {
  if (end.length === 0) return equalBytes(k, key);
  if (end.length === 1 && end[0] === 0) return compareBytes(k, key) >= 0;
  return compareBytes(k, key) >= 0 && compareBytes(k, end) < 0;
}

export function quotas(q: Partial<TenantQuotas> = {}): TenantQuotas {
  return { ...UNLIMITED_QUOTAS, ...q };
}

export class TenantFixture {
  readonly dir: TmpDir;
  storage: Storage;
  table: TenantTable;

  constructor() {
    this.dir = makeTmpDir('keyward-tenants-');
    this.storage = Storage.open(this.dir.sub('state'));
    this.table = new TenantTable(this.storage);
  }

  apply(op: TenantOp): TenantOpOutcome {
    return this.storage.transactSync((txn) => applyTenantOp(this.table, txn, op));
  }

  /** 'ok', 'noop' or the refusal's code. */
  do(op: TenantOp): string {
    const r = this.apply(op);
    return r.ok ? (r.changed ? 'ok' : 'noop') : r.error.code;
  }

  must(...ops: TenantOp[]): void {
    for (const o of ops) {
      const r = this.apply(o);
      if (!r.ok) throw new Error(`${o.type} ${o.id} refused: ${r.error.code}`);
    }
  }

  async reopen(): Promise<void> {
    await this.storage.close();
    this.storage = Storage.open(this.dir.sub('state'));
    this.table = new TenantTable(this.storage);
  }

  async close(): Promise<void> {
    await this.storage.close();
    this.dir.cleanup();
  }
}

export async function withFixture(fn: (f: TenantFixture) => Promise<void> | void): Promise<void> {
  const f = new TenantFixture();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}
