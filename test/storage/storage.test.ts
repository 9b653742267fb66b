import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  Storage,
  StorageError,
  SUB_DBS,
  ALL_SUB_DBS,
  STATE_SUB_DBS,
  RAFT_SUB_DBS,
  MAX_KEY_BYTES,
  type Table,
} from '../../src/storage/index.js';
import { withTmpDir } from '../harness/tmpdir.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const str = (u: Uint8Array): string => Buffer.from(u).toString();

async function withStorage<T>(fn: (s: Storage, dir: string) => Promise<T>): Promise<T> {
  return withTmpDir(async (tmp) => {
    const dir = tmp.sub('data');
    const s = Storage.open(dir);
    try {
      return await fn(s, dir);
    } finally {
      await s.close();
    }
  });
}

async function fill(s: Storage, t: Table, keys: Uint8Array[]): Promise<void> {
  await s.transact('committed', (txn) => {
    for (const k of keys) txn.put(t, k, k);
  });
}

test('open creates a 0700 data directory with 0600 files, and reopens it', async () => {
  await withTmpDir(async (tmp) => {
    // A dot in the name must not make lmdb-js treat the path as a file.
    const dir = tmp.sub('member.keyward');
    const s = Storage.open(dir);
    assert.equal(statSync(dir).isDirectory(), true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'data.mdb')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'lock.mdb')).mode & 0o777, 0o600);
    const t = s.table(SUB_DBS.mvccMeta);
    await s.transact('flushed', (txn) => txn.put(t, b('k'), b('v')));
    await s.close();
    const s2 = Storage.open(dir);
    assert.equal(str(s2.table(SUB_DBS.mvccMeta).get(b('k'))!), 'v');
    await s2.close();
  });
});

test('open refuses unusable data directories with a typed error', async () => {
  await withTmpDir(async (tmp) => {
    const file = tmp.sub('file');
    writeFileSync(file, 'x');
    assert.throws(() => Storage.open(file), (e: unknown) => e instanceof StorageError && e.code === 'NOT_A_DIRECTORY');
    assert.throws(
      () => Storage.open(join(file, 'below')),
      (e: unknown) => e instanceof StorageError && e.code === 'NOT_ACCESSIBLE',
    );
    const open = tmp.sub('open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    assert.throws(() => Storage.open(open), (e: unknown) => e instanceof StorageError && e.code === 'INSECURE_PERMISSIONS');
    const s = Storage.open(open, { allowInsecurePermissions: true });
    await s.close();
  });
});

test('open refuses a directory it cannot write', { skip: process.getuid?.() === 0 ? 'root can write anywhere' : false }, async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('ro');
    mkdirSync(dir, { mode: 0o500 });
    try {
      assert.throws(() => Storage.open(dir), (e: unknown) => e instanceof StorageError && e.code === 'NOT_ACCESSIBLE');
    } finally {
      chmodSync(dir, 0o700);
    }
  });
});

test('registry: names are unique; the state and raft groups partition them; each environment opens only its group', async () => {
  assert.equal(new Set(ALL_SUB_DBS).size, ALL_SUB_DBS.length);
  assert.deepEqual([...STATE_SUB_DBS, ...RAFT_SUB_DBS].sort(), [...ALL_SUB_DBS].sort());
  await withStorage(async (s) => {
    for (const name of STATE_SUB_DBS) assert.equal(s.table(name).name, name);
    for (const name of RAFT_SUB_DBS) assert.throws(() => s.table(name), TypeError);
  });
  await withTmpDir(async (tmp) => {
    const s = Storage.open(tmp.sub('raft'), { subDbs: RAFT_SUB_DBS });
    for (const name of RAFT_SUB_DBS) assert.equal(s.table(name).name, name);
    assert.throws(() => s.table(SUB_DBS.mvccKv), TypeError);
    await s.close();
  });
});

test('open refuses the other environment\'s directory, and bad sub-database lists', async () => {
  await withTmpDir(async (tmp) => {
    const state = tmp.sub('state');
    const raft = tmp.sub('raft');
    const s = Storage.open(state);
    await s.transact('flushed', (txn) => txn.put(s.table(SUB_DBS.mvccMeta), b('k'), b('v')));
    await s.close();
    await Storage.open(raft, { subDbs: RAFT_SUB_DBS }).close();
    const wrong = (e: unknown): boolean => e instanceof StorageError && e.code === 'OPEN_FAILED' && /does not own/.test(e.message);
    assert.throws(() => Storage.open(state, { subDbs: RAFT_SUB_DBS }), wrong);
    assert.throws(() => Storage.open(raft), wrong);
    // Both still open normally afterwards (the refused opens closed what they opened).
    const again = Storage.open(state);
    assert.equal(str(again.table(SUB_DBS.mvccMeta).get(b('k'))!), 'v');
    await again.close();
    assert.throws(() => Storage.open(tmp.sub('x'), { subDbs: [] }), TypeError);
    assert.throws(() => Storage.open(tmp.sub('x'), { subDbs: [SUB_DBS.raftMeta, SUB_DBS.raftMeta] }), TypeError);
    assert.throws(() => Storage.open(tmp.sub('x'), { subDbs: ['nope' as typeof SUB_DBS.raftMeta] }), TypeError);
  });
});

test('transactSync: durable and visible on return, all-or-nothing, never nested in another write', async () => {
  await withTmpDir(async (tmp) => {
    const s = Storage.open(tmp.sub('raft'), { subDbs: RAFT_SUB_DBS });
    const t = s.table(SUB_DBS.raftMeta);
    const r = s.transactSync((txn) => {
      txn.put(t, b('a'), b('1'));
      return str(t.get(b('a'))!);
    });
    assert.equal(r, '1');
    assert.equal(str(t.get(b('a'))!), '1');
    assert.throws(
      () =>
        s.transactSync((txn) => {
          txn.put(t, b('b'), b('2'));
          txn.remove(t, b('a'));
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(t.get(b('b')), undefined);
    assert.equal(str(t.get(b('a'))!), '1');
    assert.throws(() => s.transactSync(() => s.transactSync(() => undefined)), TypeError);
    await assert.rejects(
      s.transact('committed', () => {
        s.transactSync(() => undefined);
      }),
      TypeError,
    );
    // A later transactSync still works after the refused nesting.
    s.transactSync((txn) => txn.put(t, b('c'), b('3')));
    assert.deepEqual([...t.keys()].map(str), ['a', 'c']);
    await s.close();
    assert.throws(() => s.transactSync(() => undefined), TypeError);
  });
});

test('values and keys round-trip byte for byte; empty and oversized keys are misuse', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccKv);
    const value = new Uint8Array([0, 1, 2, 255, 0]);
    const key = new Uint8Array([0, 0, 255]);
    await s.transact('committed', (txn) => {
      txn.put(t, key, value);
      txn.put(t, b('empty'), new Uint8Array(0));
    });
    assert.deepEqual([...t.get(key)!], [...value]);
    assert.equal(t.get(b('empty'))!.length, 0);
    assert.equal(t.get(b('missing')), undefined);
    assert.throws(() => t.get(new Uint8Array(0)), TypeError);
    await assert.rejects(
      s.transact('committed', (txn) => txn.put(t, new Uint8Array(MAX_KEY_BYTES + 1), value)),
      TypeError,
    );
    await s.transact('committed', (txn) => txn.put(t, new Uint8Array(MAX_KEY_BYTES).fill(7), value));
  });
});

test('keys are ordered bytewise, a proper prefix first (not lmdb-js typed ordering)', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccLatest);
    const keys = ['ff', '00', '0000', '00ff', '01', '61', '6100', '62', '7f', '80'].map((h) => Buffer.from(h, 'hex'));
    await fill(s, t, keys.map((k) => new Uint8Array(k)));
    const all = [...t.keys()].map(hex);
    assert.deepEqual(all, ['00', '0000', '00ff', '01', '61', '6100', '62', '7f', '80', 'ff']);
  });
});

test('range: forward and reverse over [gte, lt), limit, count', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccLatest);
    await fill(s, t, ['a', 'b', 'c', 'd', 'e'].map(b));
    const keys = (it: Iterable<{ key: Uint8Array }>): string => [...it].map((e) => str(e.key)).join('');
    assert.equal(keys(t.range({ gte: b('b'), lt: b('d') })), 'bc');
    assert.equal(keys(t.range({ gte: b('b'), lt: b('d'), reverse: true })), 'cb');
    assert.equal(keys(t.range({ gte: b('bb'), lt: b('dd'), reverse: true })), 'dc');
    assert.equal(keys(t.range({ reverse: true })), 'edcba');
    assert.equal(keys(t.range({ lt: b('c'), reverse: true })), 'ba');
    assert.equal(keys(t.range({ gte: b('c'), reverse: true })), 'edc');
    assert.equal(keys(t.range({ gte: b('b'), limit: 2 })), 'bc');
    assert.equal(keys(t.range({ reverse: true, limit: 2 })), 'ed');
    assert.equal(keys(t.range({ gte: b('x') })), '');
    assert.equal([...t.range({ gte: b('a'), lt: b('b') })][0]!.value.length, 1);
    assert.equal(t.count(), 5);
    assert.equal(t.count({ gte: b('b'), lt: b('e') }), 3);
    assert.equal(t.count({ gte: b('e'), lt: b('b') }), 0);
    // Abandoning an iteration early releases its cursor; later reads still work.
    for (const e of t.range()) {
      assert.equal(str(e.key), 'a');
      break;
    }
    assert.equal(t.count(), 5);
  });
});

test('transact is all-or-nothing: a throwing callback leaves no writes', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccKv);
    await s.transact('committed', (txn) => txn.put(t, b('keep'), b('1')));
    await assert.rejects(
      s.transact('flushed', (txn) => {
        txn.put(t, b('partial'), b('x'));
        txn.remove(t, b('keep'));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(t.get(b('partial')), undefined);
    assert.equal(str(t.get(b('keep'))!), '1');
  });
});

test('transact: reads inside see earlier writes of the same transaction; results are returned', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccKv);
    const r = await s.transact('flushed', (txn) => {
      txn.put(t, b('x'), b('1'));
      const seen = str(t.get(b('x'))!);
      const removed = txn.remove(t, b('x'));
      const missing = txn.remove(t, b('nothing'));
      txn.put(t, b('y'), b('2'));
      return { seen, removed, missing, count: t.count() };
    });
    assert.deepEqual(r, { seen: '1', removed: true, missing: false, count: 1 });
    assert.equal(t.get(b('x')), undefined);
    assert.equal(str(t.get(b('y'))!), '2');
  });
});

test('transact: async callbacks and use of the txn after the callback are misuse', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccKv);
    await assert.rejects(
      s.transact('committed', async (txn) => {
        txn.put(t, b('a'), b('1'));
      }),
      TypeError,
    );
    assert.equal(t.get(b('a')), undefined);
    let leaked: { put(table: Table, k: Uint8Array, v: Uint8Array): void } | undefined;
    await s.transact('committed', (txn) => {
      leaked = txn;
    });
    assert.throws(() => leaked!.put(t, b('a'), b('1')), TypeError);
  });
});

test('transactions started in one event turn stay individually atomic', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccKv);
    const ok1 = s.transact('committed', (txn) => txn.put(t, b('one'), b('1')));
    const bad = s.transact('committed', (txn) => {
      txn.put(t, b('two'), b('2'));
      throw new Error('no');
    });
    const ok3 = s.transact('flushed', (txn) => txn.put(t, b('three'), b('3')));
    await ok1;
    await assert.rejects(bad, /no/);
    await ok3;
    await s.flushed();
    assert.deepEqual([...t.keys()].map(str), ['one', 'three']);
  });
});

test('stats report the file size and the bytes in use', async () => {
  await withStorage(async (s) => {
    const t = s.table(SUB_DBS.mvccKv);
    const before = s.stats();
    assert.ok(before.dbSize > 0);
    assert.ok(before.dbSizeInUse > 0 && before.dbSizeInUse <= before.dbSize);
    await s.transact('flushed', (txn) => {
      for (let i = 0; i < 2000; i++) txn.put(t, b(`key-${i}`), new Uint8Array(200));
    });
    const after = s.stats();
    assert.ok(after.dbSize > before.dbSize);
    assert.ok(after.dbSizeInUse > before.dbSizeInUse + 2000 * 200);
    assert.ok(after.dbSizeInUse <= after.dbSize);
  });
});

test('close waits for in-flight transactions, is idempotent, and later use is misuse', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('data');
    const s = Storage.open(dir);
    const t = s.table(SUB_DBS.mvccKv);
    const w = s.transact('flushed', (txn) => txn.put(t, b('late'), b('1')));
    const c1 = s.close();
    const c2 = s.close();
    assert.equal(c1, c2);
    await w;
    await c1;
    assert.equal(s.closed, true);
    assert.throws(() => s.table(SUB_DBS.mvccKv), TypeError);
    assert.throws(() => s.transact('committed', () => undefined), TypeError);
    const s2 = Storage.open(dir);
    assert.equal(str(s2.table(SUB_DBS.mvccKv).get(b('late'))!), '1');
    await s2.close();
  });
});

test('a write acknowledged as flushed survives kill -9 of the writing process', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('data');
    const script = `
      import { Storage, SUB_DBS } from ${JSON.stringify(new URL('../../src/storage/index.ts', import.meta.url).href)};
      const s = Storage.open(${JSON.stringify(dir)});
      const t = s.table(SUB_DBS.mvccKv);
      for (let i = 0; i < 20; i++) {
        await s.transact('flushed', (txn) => txn.put(t, new TextEncoder().encode('k' + i), new Uint8Array([i])));
        process.stdout.write('acked ' + i + '\\n');
      }
      process.kill(process.pid, 'SIGKILL');
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    const acked = res.stdout.trim().split('\n').filter(Boolean).length;
    assert.equal(acked, 20);
    const s = Storage.open(dir);
    const t = s.table(SUB_DBS.mvccKv);
    for (let i = 0; i < acked; i++) assert.deepEqual([...t.get(b('k' + i))!], [i]);
    await s.close();
  });
});

/** The start of a child process script: storage `s` on `dir`, tables `log` and `kv`, `enc`. */
function childPreamble(dir: string): string {
  return `
      import { Storage, SUB_DBS, ALL_SUB_DBS } from ${JSON.stringify(new URL('../../src/storage/index.ts', import.meta.url).href)};
      const s = Storage.open(${JSON.stringify(dir)}, { subDbs: ALL_SUB_DBS });
      const log = s.table(SUB_DBS.raftEntries);
      const kv = s.table(SUB_DBS.mvccKv);
      const enc = (x) => new TextEncoder().encode(x);`;
}

/** Reopens `dir` after a SIGKILL: every acknowledged batch's log entry and applied key are there. */
async function assertLogAndStateSurvived(dir: string, n: number): Promise<void> {
  const s = Storage.open(dir, { subDbs: ALL_SUB_DBS });
  try {
    for (let i = 0; i < n; i++) {
      assert.equal(str(s.table(SUB_DBS.raftEntries).get(b('e' + i))!), 'entry');
      assert.equal(str(s.table(SUB_DBS.mvccKv).get(b('k' + i))!), 'applied');
    }
  } finally {
    await s.close();
  }
}

// ---- batchSync: one transaction for a Raft Ready's log write and the apply it enables ----------

test('batchSync joins every transactSync made inside it into one transaction, durable at return', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('data');
    const script = `
      ${childPreamble(dir)}
      for (let i = 0; i < 10; i++) {
        const r = s.batchSync(() => {
          s.transactSync((txn) => txn.put(log, enc('e' + i), enc('entry')));
          return s.transactSync((txn) => { txn.put(kv, enc('k' + i), enc('applied')); return i; }, 'deferred');
        });
        process.stdout.write('acked ' + r + '\\n');
      }
      process.kill(process.pid, 'SIGKILL');
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    assert.equal(res.stdout.trim().split('\n').length, 10);
    await assertLogAndStateSurvived(dir, 10);
  });
});

test('a joined write that throws undoes the whole batch, even when its caller caught it; the storage then refuses writes', async () => {
  await withStorage(async (s) => {
    const kv = s.table(SUB_DBS.mvccKv);
    const latest = s.table(SUB_DBS.mvccLatest);
    s.transactSync((txn) => txn.put(kv, b('before'), b('1')));
    assert.throws(
      () =>
        s.batchSync(() => {
          s.transactSync((txn) => txn.put(kv, b('log'), b('x')));
          try {
            s.transactSync((txn) => {
              txn.put(latest, b('half'), b('y'));
              throw new Error('apply failed');
            });
          } catch {
            // a careless caller carries on
          }
          s.transactSync((txn) => txn.put(kv, b('after'), b('z')));
        }),
      /apply failed/,
    );
    assert.equal(kv.get(b('log')), undefined);
    assert.equal(latest.get(b('half')), undefined);
    assert.equal(kv.get(b('after')), undefined);
    assert.equal(str(kv.get(b('before'))!), '1', 'earlier commits are untouched');
    // Modules that cached a write the abort undid must not build on it: no more writes.
    assert.throws(() => s.transactSync((txn) => txn.put(kv, b('later'), b('1'))), (e: unknown) => e instanceof StorageError && e.code === 'NOT_ACCESSIBLE');
    await assert.rejects(s.transact('committed', (txn) => txn.put(kv, b('later'), b('1'))), (e: unknown) => e instanceof StorageError && e.code === 'NOT_ACCESSIBLE');
    assert.equal(kv.get(b('later')), undefined);
  });
});

// ---- batchAsync: the pipelined form, committed and flushed off the event loop ----------------

test('batchAsync joins every transactSync made inside it; committed = visible, flushed = survives kill -9', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('data');
    const script = `
      ${childPreamble(dir)}
      const dec = (x) => new TextDecoder().decode(x);
      const writes = [];
      for (let i = 0; i < 10; i++) {
        let ran = false;
        const w = s.batchAsync(() => {
          ran = true;
          s.transactSync((txn) => txn.put(log, enc('e' + i), enc('entry')));
          return s.transactSync((txn) => { txn.put(kv, enc('k' + i), enc('applied')); return i; }, 'deferred');
        });
        if (ran) throw new Error('the callback ran before batchAsync returned');
        writes.push(w);
      }
      for (const w of writes) {
        const r = await w.committed;
        if (dec(kv.get(enc('k' + r))) !== 'applied') throw new Error('committed but not visible: ' + r);
        await w.flushed;
        process.stdout.write('acked ' + r + '\\n');
      }
      process.kill(process.pid, 'SIGKILL');
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    assert.deepEqual(res.stdout.trim().split('\n'), Array.from({ length: 10 }, (_, i) => `acked ${i}`), 'in queue order');
    await assertLogAndStateSurvived(dir, 10);
  });
});

test('a batchAsync whose joined write throws keeps nothing, rejects both promises, and the storage then refuses writes', async () => {
  await withStorage(async (s) => {
    const kv = s.table(SUB_DBS.mvccKv);
    s.transactSync((txn) => txn.put(kv, b('before'), b('1')));
    const w = s.batchAsync(() => {
      s.transactSync((txn) => txn.put(kv, b('log'), b('x')));
      try {
        s.transactSync(() => {
          throw new Error('apply failed');
        });
      } catch {
        // a careless caller carries on
      }
    });
    await assert.rejects(w.committed, /apply failed/);
    await assert.rejects(w.flushed, /apply failed/);
    assert.equal(kv.get(b('log')), undefined);
    assert.equal(str(kv.get(b('before'))!), '1');
    assert.throws(() => s.batchAsync(() => undefined), (e: unknown) => e instanceof StorageError && e.code === 'NOT_ACCESSIBLE');
    assert.throws(() => s.transactSync((txn) => txn.put(kv, b('later'), b('1'))), (e: unknown) => e instanceof StorageError && e.code === 'NOT_ACCESSIBLE');
  });
});

test('batchSync refuses to nest and refuses an async callback', async () => {
  await withStorage(async (s) => {
    assert.throws(() => s.transactSync(() => s.batchSync(() => 1)), TypeError);
    s.transactSync((txn) => txn.put(s.table(SUB_DBS.mvccKv), b('x'), b('1'))); // a plain misuse aborts only its own transaction
    assert.throws(() => s.batchSync(() => s.batchSync(() => 1)), TypeError);
  });
  await withStorage(async (s) => {
    assert.throws(() => s.batchSync(() => Promise.resolve(1)), /synchronous/);
  });
});
