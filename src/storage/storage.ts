// The LMDB environment of one member, reached only through this file (the one importer of `lmdb`).
//
// Facts about lmdb-js 3.5 this module is built on (established by reading its source and by the
// experiment in bench/lmdb-durability.ts; see docs in that script's header):
// - With `overlappingSync` (the default on Linux/macOS) an asynchronous write transaction
//   (`transaction`, `childTransaction`, `put`) runs its JS callback on the main thread inside the
//   write worker's LMDB transaction, commits it WITHOUT fsync, resolves its promise ("committed":
//   visible to readers), then the worker thread fdatasyncs and writes a synced meta page, and only
//   then `db.flushed` resolves ("flushed": durable). A crash between the two rolls back to the last
//   flushed transaction, so anything that must survive a crash waits for `flushed`.
// - `transactionSync` commits AND fdatasyncs on the calling thread: durable on return, but the
//   event loop is blocked for the whole fsync. `transactSync` below exposes it for the Raft log,
//   where the measured latency (bench/raft-log-bench.ts) beats the three event-loop hops of the
//   asynchronous path; the state environment keeps using `transact`.
// - If the callback of a plain `transaction` throws, the writes it already made stay in the batch
//   and are committed. `childTransaction` runs the callback in an abortable LMDB child transaction,
//   so a throw leaves nothing behind. `transact` below relies on that for all-or-nothing.
// - `keyEncoding: 'binary'` stores Uint8Array keys verbatim; LMDB's default comparator then orders
//   them bytewise (memcmp, a proper prefix first). Zero-length keys are rejected by LMDB.
// - A path with a dot in its last component is treated by lmdb-js as a *file* unless `noSubdir`
//   is false, so it is always passed explicitly.
import { open, type Database, type RootDatabase } from 'lmdb';
import { chmodSync, mkdirSync, statSync, accessSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { ALL_SUB_DBS, STATE_SUB_DBS, type SubDbName } from './registry.js';
import { StorageError } from './errors.js';

/**
 * When a write's promise resolves: `committed` = visible to readers in this process but may be
 * lost by a crash; `flushed` = fsynced, survives a crash. Every write states one.
 */
export type Durability = 'committed' | 'flushed';

/**
 * The largest key any sub-database accepts, whatever the page size. LMDB's limit on 4 KiB pages is
 * 1982 bytes; lmdb-js caps it at 1978. Modules that derive keys from user input (mvcc) check their
 * encoded keys against this constant before writing, so the check is stateless and identical on
 * every member.
 */
export const MAX_KEY_BYTES = 1978;

/**
 * The LMDB map reserved per environment (8 GiB, etcd's suggested maximum backend size). A larger
 * database still works: lmdb-js grows the map when it fills.
 */
const MAP_SIZE_BYTES = 8 * 1024 ** 3;

const OVERLAPPING_SYNC = process.platform !== 'win32';
// lmdb-js's TransactionFlags (declared in its typings as a const enum-like, so repeated here).
const TXN_ABORTABLE = 1;
const TXN_SYNCHRONOUS_COMMIT = 2;
const TXN_NO_SYNC_FLUSH = 0x10000;

export interface StorageOptions {
  /**
   * Accept an existing data directory or LMDB files that other users can reach or that another
   * user owns. Off by default: data directories are 0700 and files 0600, owned by this process's
   * user (GUARANTEES A22; etcd CVE-2020-15113).
   */
  allowInsecurePermissions?: boolean;
  /**
   * The sub-databases this environment holds (default: STATE_SUB_DBS). Opening a directory that
   * already holds a sub-database outside this set fails with OPEN_FAILED: it is the other
   * environment's directory.
   */
  subDbs?: readonly SubDbName[];
}

export interface RangeOptions {
  /** Inclusive lower bound; absent = from the first key. */
  gte?: Uint8Array;
  /** Exclusive upper bound; absent = to the last key. */
  lt?: Uint8Array;
  /** Iterate from the largest key below `lt` down to `gte`. */
  reverse?: boolean;
  /** At most this many entries (absent or <= 0: no limit). */
  limit?: number;
}

export interface StorageStats {
  /** Size of the data file in bytes. */
  dbSize: number;
  /** Bytes of the data file occupied by live B-tree pages (the rest is free pages LMDB reuses). */
  dbSizeInUse: number;
}

/**
 * One sub-database. Reads run against the latest committed snapshot, or, while a `transact`
 * callback is running, against that write transaction (so they see its earlier writes).
 * Returned keys and values are fresh copies the caller may keep.
 */
export interface Table {
  readonly name: SubDbName;
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Ordered entries in [gte, lt). The iteration is lazy and holds a cursor until finished or
   * abandoned with `break`. Inside a write transaction, finish iterating before writing to the
   * same table.
   */
  range(opts?: RangeOptions): Iterable<{ key: Uint8Array; value: Uint8Array }>;
  /** Like `range` without reading values. */
  keys(opts?: RangeOptions): Iterable<Uint8Array>;
  /** Number of keys in [gte, lt), counted inside LMDB without materialising entries. */
  count(opts?: Pick<RangeOptions, 'gte' | 'lt'>): number;
}

/** Write access, valid only while the `transact` callback that received it is running. */
export interface WriteTxn {
  put(table: Table, key: Uint8Array, value: Uint8Array): void;
  /** Returns whether the key existed. */
  remove(table: Table, key: Uint8Array): boolean;
}

// With binary key and value encodings lmdb-js takes Uint8Arrays and returns Buffers (a subclass).
type BinaryDb = Database<Uint8Array, Uint8Array>;

class LmdbTable implements Table {
  constructor(
    readonly name: SubDbName,
    readonly db: BinaryDb,
    readonly owner: Storage,
  ) {}

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    return this.db.get(key);
  }

  range(opts: RangeOptions = {}): Iterable<{ key: Uint8Array; value: Uint8Array }> {
    return this.db.getRange(toLmdbRange(opts)) as Iterable<{ key: Uint8Array; value: Uint8Array }>;
  }

  keys(opts: RangeOptions = {}): Iterable<Uint8Array> {
    return this.db.getKeys(toLmdbRange(opts)) as Iterable<Uint8Array>;
  }

  count(opts: Pick<RangeOptions, 'gte' | 'lt'> = {}): number {
    return this.db.getKeysCount(toLmdbRange(opts));
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('storage key must be a Uint8Array');
  if (key.length === 0) throw new TypeError('storage key must not be empty');
  if (key.length > MAX_KEY_BYTES) throw new TypeError(`storage key longer than ${MAX_KEY_BYTES} bytes`);
}

// lmdb-js: forward ranges are [start, end); reverse ranges start at the first key <= start and stop
// before end. Bounds are only set when given, because an explicit `undefined` changes its meaning.
function toLmdbRange(opts: RangeOptions): {
  start?: Uint8Array;
  end?: Uint8Array;
  reverse?: boolean;
  exclusiveStart?: boolean;
  inclusiveEnd?: boolean;
  limit?: number;
} {
  if (opts.gte !== undefined) checkKey(opts.gte);
  if (opts.lt !== undefined) checkKey(opts.lt);
  const out: ReturnType<typeof toLmdbRange> = {};
  if (opts.reverse) {
    out.reverse = true;
    if (opts.lt !== undefined) {
      out.start = opts.lt;
      out.exclusiveStart = true;
    }
    if (opts.gte !== undefined) {
      out.end = opts.gte;
      out.inclusiveEnd = true;
    }
  } else {
    if (opts.gte !== undefined) out.start = opts.gte;
    if (opts.lt !== undefined) out.end = opts.lt;
  }
  if (opts.limit !== undefined && opts.limit > 0) out.limit = opts.limit;
  return out;
}

/** A write callback must not be async: its writes would land outside the transaction. */
function refuseAsync(r: unknown, what: string): void {
  if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
    throw new TypeError(`${what} callback must be synchronous`);
  }
}

interface BatchState {
  /** The first error a joined write threw. */
  failed: Error | undefined;
}

class ActiveWriteTxn implements WriteTxn {
  active = true;
  constructor(private readonly owner: Storage) {}

  private target(table: Table, key: Uint8Array): BinaryDb {
    if (!this.active) throw new TypeError('write transaction used after its callback returned');
    if (!(table instanceof LmdbTable) || table.owner !== this.owner) {
      throw new TypeError('table does not belong to this storage');
    }
    checkKey(key);
    return table.db;
  }

  put(table: Table, key: Uint8Array, value: Uint8Array): void {
    const db = this.target(table, key);
    if (!(value instanceof Uint8Array)) throw new TypeError('storage value must be a Uint8Array');
    // Inside a write transaction lmdb-js performs putSync immediately in that transaction.
    db.putSync(key, value);
  }

  remove(table: Table, key: Uint8Array): boolean {
    return this.target(table, key).removeSync(key);
  }
}

export class Storage {
  readonly dir: string;
  private readonly root: RootDatabase;
  private readonly tables = new Map<SubDbName, LmdbTable>();
  private readonly pending = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  /**
   * Number of `transact` / `transactSync` callbacks running: lmdb-js would nest a transactSync
   * started there inside that transaction, so it would be neither committed nor flushed on return.
   */
  private writeDepth = 0;
  /** The `batchSync` running now, which `transactSync` calls join. */
  private batch: BatchState | undefined;
  /** Set when a batch was undone: see `batchSync`. */
  private broken: Error | undefined;

  private constructor(dir: string, root: RootDatabase, subDbs: readonly SubDbName[]) {
    this.dir = dir;
    this.root = root;
    for (const name of subDbs) {
      const db = root.openDB<Uint8Array, Uint8Array>(name, { keyEncoding: 'binary', encoding: 'binary' });
      this.tables.set(name, new LmdbTable(name, db, this));
    }
  }

  /**
   * Opens (creating if needed) the environment in `dir`. The directory is created with mode 0700
   * and the LMDB files end up 0600; an existing directory must be a writable directory of this
   * process's user with mode 0700, and existing LMDB files must be this user's with mode 0600 (else
   * INSECURE_PERMISSIONS / FOREIGN_OWNER, unless `allowInsecurePermissions`). Synchronous: LMDB
   * opens synchronously.
   */
  static open(dir: string, opts: StorageOptions = {}): Storage {
    const subDbs = checkSubDbs(opts.subDbs ?? STATE_SUB_DBS);
    prepareDataDir(dir, opts);
    // Checked before LMDB opens them: a file someone else can read or replace is refused, not fixed.
    if (!opts.allowInsecurePermissions) for (const f of LMDB_FILES) checkFile(join(dir, f));
    let root: RootDatabase;
    try {
      root = open({
        path: dir,
        noSubdir: false,
        maxDbs: subDbs.length,
        // Stated explicitly so a change of lmdb-js defaults cannot silently weaken durability.
        overlappingSync: OVERLAPPING_SYNC,
        noSync: false,
        noMetaSync: false,
        useWritemap: false,
        // One mapping, reserved once (address space, not memory; the file grows only as pages are
        // written). Left to itself lmdb-js starts at 128 KiB and doubles the map as the file grows,
        // keeping every earlier mapping of the same file alive, each with its own resident pages:
        // after 100,000 puts a member held nine mappings and ~110 MiB of duplicated file pages.
        // etcd's bbolt likewise maps its initial 10 GB at once.
        mapSize: MAP_SIZE_BYTES,
      });
    } catch (err) {
      throw new StorageError('OPEN_FAILED', `cannot open LMDB environment in ${dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // lmdb-js exposes the limit on the store object but not in its typings.
    const maxKeySize = (root as unknown as { maxKeySize?: number }).maxKeySize;
    if (typeof maxKeySize === 'number' && maxKeySize < MAX_KEY_BYTES) {
      void root.close();
      throw new StorageError('OPEN_FAILED', `LMDB key limit ${maxKeySize} is below the required ${MAX_KEY_BYTES}`);
    }
    // The main database lists the named sub-databases that exist in the file.
    const foreign = [...root.getKeys()].map(String).filter((name) => !(subDbs as readonly string[]).includes(name));
    if (foreign.length > 0) {
      void root.close();
      throw new StorageError(
        'OPEN_FAILED',
        `${dir} holds sub-databases ${foreign.join(', ')} that this environment does not own (wrong directory?)`,
      );
    }
    try {
      for (const f of LMDB_FILES) chmodSync(join(dir, f), 0o600);
    } catch (err) {
      void root.close();
      throw new StorageError('NOT_ACCESSIBLE', `cannot set permissions in ${dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new Storage(dir, root, subDbs);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Whether this environment opened sub-database `name`. */
  has(name: SubDbName): boolean {
    return this.tables.has(name);
  }

  /** Whether a `batchSync` is running (a `transactSync` now joins it). */
  get inBatch(): boolean {
    return this.batch !== undefined;
  }

  table(name: SubDbName): Table {
    this.assertOpen();
    const t = this.tables.get(name);
    if (!t) throw new TypeError(`sub-database ${name} is not part of this environment`);
    return t;
  }

  /**
   * Runs `fn` synchronously inside one LMDB write transaction and resolves with its result once
   * the transaction is `durability` (see Durability). All of fn's writes commit together or not at
   * all: if fn throws, nothing it wrote is kept and the promise rejects with that error. Reads made
   * by fn through tables see its own earlier writes. fn must not be async.
   *
   * Writes from different `transact` calls may share one LMDB transaction (lmdb-js batches an
   * event turn), which keeps each one atomic and preserves their order.
   */
  transact<T>(durability: Durability, fn: (txn: WriteTxn) => T): Promise<T> {
    this.assertOpen();
    if (this.broken !== undefined) {
      try {
        this.assertWritable();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const txn = new ActiveWriteTxn(this);
    const run = async (): Promise<T> => {
      const result = await this.root.childTransaction(() => {
        this.writeDepth++;
        try {
          const r = fn(txn);
          refuseAsync(r, 'transact');
          return r;
        } finally {
          txn.active = false;
          this.writeDepth--;
        }
      });
      if (durability === 'flushed') await this.root.flushed;
      return result;
    };
    return this.track(run());
  }

  /**
   * Runs `fn` inside one LMDB write transaction on the calling thread, commits and fdatasyncs
   * before returning: the result is durable when this returns (and visible to every read made
   * after it). All-or-nothing like `transact`: if fn throws, nothing it wrote is kept and the error
   * is rethrown. Blocks the event loop for the commit and the fsync, which is why only the Raft
   * log, whose fsync the member waits for anyway, uses it. Must not be called from inside a
   * `transact` callback. fn must not be async.
   */
  transactSync<T>(fn: (txn: WriteTxn) => T, flush: 'sync' | 'deferred' = 'sync'): T {
    this.assertWritable();
    if (this.writeDepth > 0) throw new TypeError('transactSync inside another write transaction');
    if (this.batch !== undefined) return this.joinBatch(this.batch, fn);
    const txn = new ActiveWriteTxn(this);
    // 'deferred' commits with lmdb-js's TransactionFlags.NO_SYNC_FLUSH (MDB_NOSYNC on the
    // transaction), documented as "the function can return before the transaction has been
    // flushed to disk". With overlapping sync, though, LMDB's commit then takes the sync mutex and
    // fdatasyncs on the CALLING thread before it returns (mdb.c, the lmdb-js part of
    // mdb_txn_commit; strace shows the fdatasync between the call and its return), so on Linux
    // a deferred commit is durable at return just like 'sync'; what it changes is only that the
    // meta page is written as an overlapping one first. Only the write worker's transactions
    // (Storage.batchAsync, `transact`) take the fsync off this thread. Without overlappingSync
    // (Windows) it falls back to 'sync'.
    const flags = flush === 'deferred' && OVERLAPPING_SYNC ? TXN_ABORTABLE | TXN_SYNCHRONOUS_COMMIT | TXN_NO_SYNC_FLUSH : undefined;
    return this.root.transactionSync(() => {
      this.writeDepth++;
      try {
        const r = fn(txn);
        refuseAsync(r, 'transactSync');
        return r;
      } finally {
        txn.active = false;
        this.writeDepth--;
      }
    }, flags);
  }

  /**
   * Runs `fn` synchronously with every `transactSync` it makes (directly or through other modules)
   * joined into ONE LMDB write transaction, committed and fdatasynced before this returns. This is
   * how a member persists a Raft Ready and applies the entries it commits with one fsync instead
   * of one per module: LMDB's commit cost is per transaction, not per write (measured: a log append
   * and a state apply in one transaction cost half of two transactions, fsync included).
   *
   * Joined calls lose their own all-or-nothing: if any of them throws, the whole batch is undone,
   * even when the caller caught the error, and the environment then refuses every later write
   * (StorageError NOT_ACCESSIBLE) until it is reopened — modules that cache what they wrote (the
   * Raft log) may believe a write happened that the abort undid, so nothing may build on them.
   * Asynchronous `transact` calls made inside `fn` are not joined (they commit on their own).
   */
  batchSync<T>(fn: () => T): T {
    this.assertWritable();
    if (this.writeDepth > 0 || this.batch !== undefined) throw new TypeError('batchSync inside another write transaction');
    try {
      return this.root.transactionSync(() => this.runJoined(fn, 'batchSync'));
    } catch (err) {
      this.broken ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  /**
   * batchSync's pipelined form, the member's write path: `fn` is queued and runs later, on this
   * thread, inside a transaction of lmdb-js's write worker, with every `transactSync` it makes
   * joined to that transaction (queued batches run in order). The worker commits it OFF this
   * thread — `committed` resolves with fn's result once the writes are visible — and then
   * fdatasyncs — `flushed` resolves once they survive a crash. Meanwhile the event loop serves.
   * All-or-nothing like batchSync (fn runs in an abortable child transaction): if fn or a joined
   * write throws, nothing of it is kept, both promises reject, and the environment refuses every
   * later write, since callers may already have acted on the batch (the Raft log caches it).
   */
  batchAsync<T>(fn: () => T): { committed: Promise<T>; flushed: Promise<void> } {
    this.assertWritable();
    const run = this.root.childTransaction(() => {
      // A batch queued before an earlier one failed must not land on top of the hole.
      this.assertWritable();
      return this.runJoined(fn, 'batchAsync');
    });
    // Read right after queueing: lmdb-js's flush promise of the batch this write went into.
    const flush = this.root.flushed;
    const committed = this.track(
      Promise.resolve(run).catch((err: unknown) => {
        this.broken ??= err instanceof Error ? err : new Error(String(err));
        throw err;
      }),
    );
    const flushed = this.track(Promise.all([committed, flush]).then(() => undefined));
    return { committed, flushed };
  }

  /** Runs a batch's callback inside the open write transaction with every transactSync joined. */
  private runJoined<T>(fn: () => T, what: string): T {
    const batch: BatchState = { failed: undefined };
    this.batch = batch;
    try {
      const r = fn();
      refuseAsync(r, what);
      // A joined write failed and its caller carried on: undo everything (throwing aborts).
      if (batch.failed !== undefined) throw batch.failed;
      return r;
    } finally {
      this.batch = undefined;
    }
  }

  private joinBatch<T>(batch: BatchState, fn: (txn: WriteTxn) => T): T {
    const txn = new ActiveWriteTxn(this);
    this.writeDepth++;
    try {
      const r = fn(txn);
      refuseAsync(r, 'transactSync');
      return r;
    } catch (err) {
      batch.failed ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      txn.active = false;
      this.writeDepth--;
    }
  }

  /** Resolves once everything committed before the call is flushed to disk. */
  flushed(): Promise<void> {
    this.assertOpen();
    return this.track(Promise.resolve(this.root.flushed).then(() => undefined));
  }

  stats(): StorageStats {
    this.assertOpen();
    const dbSize = statSync(join(this.dir, 'data.mdb')).size;
    let pages = 2; // the two LMDB meta pages
    let pageSize = 4096;
    let first = true;
    for (const t of this.tables.values()) {
      // getStats returns LMDB's MDB_stat for the sub-db plus `root` (main db) and `free` (freelist db).
      const s = t.db.getStats() as LmdbStats;
      pageSize = s.pageSize;
      pages += treePages(s);
      if (first) {
        pages += treePages(s.root) + treePages(s.free);
        first = false;
      }
    }
    return { dbSize, dbSizeInUse: Math.min(dbSize, pages * pageSize) };
  }

  /** Waits for in-flight transactions, then closes the environment. Safe to call repeatedly. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await Promise.allSettled([...this.pending]);
        await this.root.close();
      })();
    }
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new TypeError('storage is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.broken !== undefined) {
      throw new StorageError('NOT_ACCESSIBLE', `storage refuses writes after an undone batch: ${this.broken.message}`, { cause: this.broken });
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = (): void => {
      this.pending.delete(p);
    };
    p.then(done, done);
    return p;
  }
}

interface LmdbTreeStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}
interface LmdbStats extends LmdbTreeStats {
  root: LmdbTreeStats;
  free: LmdbTreeStats;
}

function treePages(s: LmdbTreeStats): number {
  return s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
}

function checkSubDbs(names: readonly SubDbName[]): readonly SubDbName[] {
  if (names.length === 0) throw new TypeError('an environment needs at least one sub-database');
  for (const n of names) if (!ALL_SUB_DBS.includes(n)) throw new TypeError(`unknown sub-database ${String(n)}`);
  if (new Set(names).size !== names.length) throw new TypeError('duplicate sub-database name');
  return [...names];
}

const LMDB_FILES = ['data.mdb', 'lock.mdb'] as const;

/** This process's user, where the platform has one (not on Windows, where modes do not apply). */
const SELF_UID = process.getuid?.();

/**
 * Creates `dir` with mode 0700 (parents too), or checks that the existing one is a directory this
 * process can use, owned by its user, with no group or other permission bits. Storage.open runs it
 * on the environment's directory; a member runs it on its data directory (the environment's parent)
 * as well.
 */
export function prepareDataDir(dir: string, opts: Pick<StorageOptions, 'allowInsecurePermissions'> = {}): void {
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StorageError('NOT_ACCESSIBLE', `cannot access data directory ${dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (mkErr) {
      throw new StorageError('NOT_ACCESSIBLE', `cannot create data directory ${dir}: ${(mkErr as Error).message}`, {
        cause: mkErr,
      });
    }
    return;
  }
  if (!st.isDirectory()) throw new StorageError('NOT_A_DIRECTORY', `data directory ${dir} is not a directory`);
  try {
    accessSync(dir, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    throw new StorageError('NOT_ACCESSIBLE', `data directory ${dir} is not readable and writable`, { cause: err });
  }
  if (opts.allowInsecurePermissions) return;
  if (SELF_UID !== undefined && st.uid !== SELF_UID) {
    throw new StorageError('FOREIGN_OWNER', `data directory ${dir} is owned by uid ${st.uid}, not by this process's user (uid ${SELF_UID})`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new StorageError(
      'INSECURE_PERMISSIONS',
      `data directory ${dir} has mode ${(st.mode & 0o777).toString(8)}; it must be 0700 (chmod 700 ${dir})`,
    );
  }
}

/** An existing LMDB file must be this user's with mode 0600; a missing one is created by LMDB. */
function checkFile(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StorageError('NOT_ACCESSIBLE', `cannot access ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (SELF_UID !== undefined && st.uid !== SELF_UID) {
    throw new StorageError('FOREIGN_OWNER', `${file} is owned by uid ${st.uid}, not by this process's user (uid ${SELF_UID})`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new StorageError('INSECURE_PERMISSIONS', `${file} has mode ${(st.mode & 0o777).toString(8)}; it must be 0600 (chmod 600 ${file})`);
  }
}
