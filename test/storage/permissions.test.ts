import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDataDir, Storage, StorageError, SUB_DBS, type StorageErrorCode } from '../../src/storage/index.js';
import { withTmpDir } from '../harness/tmpdir.js';
import { baseServeArgs, runKeyward, startMemberProcess } from '../harness/process.js';

// GUARANTEES A22 (files on disk; etcd CVE-2020-15113): the data directory is 0700 and the LMDB
// files 0600, owned by the member's user; a pre-existing directory or file that other users can
// reach, or that another user owns, is refused at open with a typed error (and `keyward serve`
// exits non-zero) instead of being used or silently repaired.

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const mode = (p: string): number => statSync(p).mode & 0o777;
const FILES = ['data.mdb', 'lock.mdb'];
const isRoot = process.getuid?.() === 0;
/** A uid that is not this process's (root can hand files to it with chown). */
const OTHER_UID = 54321;

function refused(fn: () => unknown, code: StorageErrorCode, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof StorageError && e.code === code && message.test(e.message));
}

/** Creates an environment holding one key, closes it, and returns its directory. */
async function seeded(dir: string): Promise<void> {
  const s = Storage.open(dir);
  await s.transact('flushed', (txn) => txn.put(s.table(SUB_DBS.mvccMeta), b('k'), b('v')));
  await s.close();
}

async function holdsKey(dir: string): Promise<void> {
  const s = Storage.open(dir);
  assert.equal(Buffer.from(s.table(SUB_DBS.mvccMeta).get(b('k'))!).toString(), 'v');
  await s.close();
}

test('A22: a new environment is 0700 (every directory created) with 0600 files, whatever the umask', async () => {
  await withTmpDir(async (tmp) => {
    const old = process.umask(0);
    try {
      const dir = join(tmp.sub('a'), 'b', 'member');
      const s = Storage.open(dir);
      for (const d of [tmp.sub('a'), join(tmp.sub('a'), 'b'), dir]) assert.equal(mode(d).toString(8), '700', d);
      for (const f of FILES) assert.equal(mode(join(dir, f)).toString(8), '600', f);
      assert.equal(statSync(dir).uid, process.getuid?.());
      await s.close();
    } finally {
      process.umask(old);
    }
  });
});

test('A22: an existing data directory with any group or other bit is refused, nothing is created in it', async () => {
  await withTmpDir(async (tmp) => {
    for (const m of [0o755, 0o750, 0o710, 0o701, 0o770, 0o777, 0o705]) {
      const dir = tmp.sub(`d${m.toString(8)}`);
      mkdirSync(dir);
      chmodSync(dir, m);
      refused(() => Storage.open(dir), 'INSECURE_PERMISSIONS', new RegExp(`has mode ${m.toString(8)}; it must be 0700 \\(chmod 700 `));
      assert.deepEqual(readdirSync(dir), [], m.toString(8));
      assert.equal(mode(dir), m, 'the mode is not silently changed');
    }
  });
});

test('A22: an existing LMDB file with any group or other bit is refused, left as it is, and opens once fixed', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('member');
    await seeded(dir);
    for (const f of FILES) {
      for (const m of [0o644, 0o640, 0o604, 0o660, 0o666, 0o620]) {
        chmodSync(join(dir, f), m);
        refused(() => Storage.open(dir), 'INSECURE_PERMISSIONS', new RegExp(`${f} has mode ${m.toString(8)}; it must be 0600 \\(chmod 600 `));
        assert.equal(mode(join(dir, f)), m, `${f} is not silently changed`);
        chmodSync(join(dir, f), 0o600);
      }
    }
    await holdsKey(dir);
  });
});

test('A22: allowInsecurePermissions opens a loose directory and tightens the files to 0600', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('member');
    await seeded(dir);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'data.mdb'), 0o644);
    const s = Storage.open(dir, { allowInsecurePermissions: true });
    await s.close();
    for (const f of FILES) assert.equal(mode(join(dir, f)).toString(8), '600');
  });
});

test('A22: a data directory or LMDB file owned by another user is refused', { skip: isRoot ? false : 'needs root to give a file to another uid (chown)' }, async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('member');
    await seeded(dir);
    chownSync(dir, OTHER_UID, OTHER_UID);
    refused(() => Storage.open(dir), 'FOREIGN_OWNER', new RegExp(`data directory .* is owned by uid ${OTHER_UID}, not by this process's user \\(uid 0\\)`));
    chownSync(dir, 0, 0);
    for (const f of FILES) {
      chownSync(join(dir, f), OTHER_UID, OTHER_UID);
      refused(() => Storage.open(dir), 'FOREIGN_OWNER', new RegExp(`${f} is owned by uid ${OTHER_UID}`));
      chownSync(join(dir, f), 0, 0);
    }
    await holdsKey(dir);
    // The escape hatch covers ownership too (an operator who knows what they are doing).
    chownSync(dir, OTHER_UID, OTHER_UID);
    const s = Storage.open(dir, { allowInsecurePermissions: true });
    await s.close();
  });
});

test('A22: prepareDataDir (the member data directory) creates 0700 and refuses loose or foreign ones', async () => {
  await withTmpDir(async (tmp) => {
    const fresh = join(tmp.sub('x'), 'data');
    prepareDataDir(fresh);
    assert.equal(mode(fresh).toString(8), '700');
    assert.equal(mode(tmp.sub('x')).toString(8), '700');
    prepareDataDir(fresh); // an existing good one is accepted
    chmodSync(fresh, 0o750);
    refused(() => prepareDataDir(fresh), 'INSECURE_PERMISSIONS', /has mode 750/);
    prepareDataDir(fresh, { allowInsecurePermissions: true });
    if (isRoot) {
      chmodSync(fresh, 0o700);
      chownSync(fresh, OTHER_UID, OTHER_UID);
      refused(() => prepareDataDir(fresh), 'FOREIGN_OWNER', /is owned by uid 54321/);
    }
  });
});

test('A22: keyward serve creates its data dir 0700 and LMDB files 0600', async () => {
  await withTmpDir(async (tmp) => {
    const dataDir = tmp.sub('data');
    const m = await startMemberProcess(dataDir);
    try {
      assert.equal(mode(dataDir).toString(8), '700');
      assert.equal(mode(join(dataDir, 'member')).toString(8), '700');
      for (const f of FILES) assert.equal(mode(join(dataDir, 'member', f)).toString(8), '600', f);
      for (const name of readdirSync(dataDir)) {
        const p = join(dataDir, name);
        if (statSync(p).isFile()) assert.equal(mode(p) & 0o077, 0, `${name} is private`);
      }
    } finally {
      m.child.kill('SIGKILL');
      await m.exited;
    }
  });
});

test('A22: keyward serve exits non-zero with a clear message on a loose member dir or LMDB file', async () => {
  await withTmpDir(async (tmp) => {
    const dataDir = tmp.sub('data');
    mkdirSync(join(dataDir, 'member'), { recursive: true, mode: 0o700 });
    chmodSync(join(dataDir, 'member'), 0o755);
    const loose = await runKeyward(baseServeArgs(dataDir));
    assert.equal(loose.code, 1, loose.stderr);
    assert.match(loose.stderr, /data directory .*member has mode 755; it must be 0700 \(chmod 700 /);
    assert.ok(!existsSync(join(dataDir, 'member', 'data.mdb')));

    chmodSync(join(dataDir, 'member'), 0o700);
    await seeded(join(dataDir, 'member'));
    chmodSync(join(dataDir, 'member', 'data.mdb'), 0o644);
    const file = await runKeyward(baseServeArgs(dataDir));
    assert.equal(file.code, 1, file.stderr);
    assert.match(file.stderr, /data\.mdb has mode 644; it must be 0600/);
  });
});

test('A22: keyward serve refuses a loose top-level data dir', async () => {
  await withTmpDir(async (tmp) => {
    const dataDir = tmp.sub('data');
    mkdirSync(dataDir, { mode: 0o700 });
    chmodSync(dataDir, 0o755);
    // Today it starts (and would run forever under runKeyward): start it as a member, stop it if it does.
    const started = await startMemberProcess(dataDir).then(
      (m) => m,
      (e: unknown) => e as Error,
    );
    if (!(started instanceof Error)) {
      started.child.kill('SIGKILL');
      await started.exited;
    }
    assert.ok(started instanceof Error, 'keyward serve started on a 0755 data dir');
    assert.match(started.message, /exited before ready \(code 1[,)].*data directory .*data has mode 755; it must be 0700/s);
  });
});
