// A real LMDB environment with the auth table and checker, and a shorthand for applying ops the
// way the apply batch does (one write transaction per op).
import { applyAuthOp, AuthChecker, AuthTable, type AuthOp, type AuthOpOutcome, type Permission, type PermType } from '../../src/auth/index.js';
import { Storage } from '../../src/storage/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { enc } from '../mvcc/helpers.js';

export class AuthFixture {
  readonly dir: TmpDir;
  storage: Storage;
  table: AuthTable;
  checker: AuthChecker;

  constructor() {
    this.dir = makeTmpDir('keyward-auth-');
    this.storage = Storage.open(this.dir.sub('state'));
    this.table = new AuthTable(this.storage);
    this.checker = new AuthChecker(this.table);
  }

  apply(op: AuthOp): AuthOpOutcome {
    return this.storage.transactSync((txn) => applyAuthOp(this.table, txn, op));
  }

  /** 'ok', 'noop' or the refusal's code. */
  do(op: AuthOp): string {
    const r = this.apply(op);
    return r.ok ? (r.changed ? 'ok' : 'noop') : r.error.code;
  }

  /** Applies every op and fails loudly on the first one that was refused. */
  must(...ops: AuthOp[]): void {
    for (const o of ops) {
      const r = this.apply(o);
      if (!r.ok) throw new Error(`${o.type} refused: ${r.error.code}`);
    }
  }

  async reopen(): Promise<void> {
    await this.storage.close();
    this.storage = Storage.open(this.dir.sub('state'));
    this.table = new AuthTable(this.storage);
    this.checker = new AuthChecker(this.table);
  }

  async close(): Promise<void> {
    await this.storage.close();
    this.dir.cleanup();
  }
}

export function perm(permType: PermType, key: string | Uint8Array, rangeEnd: string | Uint8Array = ''): Permission {
  return { permType, key: typeof key === 'string' ? enc(key) : key, rangeEnd: typeof rangeEnd === 'string' ? enc(rangeEnd) : rangeEnd };
}

/** A user holding one fresh role with these perms. */
export function userWithPerms(f: AuthFixture, user: string, perms: Permission[], role = `${user}-role`): void {
  f.must({ type: 'userAdd', name: user, noPassword: true }, { type: 'roleAdd', name: role });
  for (const p of perms) f.must({ type: 'roleGrantPermission', name: role, perm: p });
  f.must({ type: 'userGrantRole', user, role });
}
