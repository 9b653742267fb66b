// Distributed locks over keys, leases and watches: the protocol of etcd's clientv3/concurrency
// Mutex (what `etcdctl lock` runs), so a Keyward client and an etcd client contend fairly for the
// same lock name. GUARANTEES L14:
// - lock() answers only while the holder's lease is alive: after waiting its turn it reads its own
//   key again, and a key that expired with the lease meanwhile is SESSION_EXPIRED, never a lock;
// - a lock carries a fencing token, the create revision of its key, and `guard()` is the compare
//   that makes a txn apply only while that key (so that lock) still exists. A holder paused past
//   its lease's TTL may still believe it holds the lock; its guarded writes then fail, which is the
//   only safe outcome. Unguarded writes under a lock are NOT safe against such a pause: etcd's
//   documentation says the same, and the tests show it.
//
// Protocol: the waiter's key is `<name>/<lease ID in hex>`, put with its lease if absent (one txn
// that also reads the oldest key under `<name>/`); the waiter whose key has the lowest create
// revision holds the lock; the others wait for the deletion of the newest key created before
// theirs, again and again, until none is left. Fair (first come, first served) and without a
// thundering herd: each waiter watches one key.
import { CompareResult, CompareTarget, SortOrder, SortTarget, WatchFilterType, bytesFromString, bytesToString, prefixEnd, type Compare, type KeyValue, type ResponseHeader } from '../wire/index.js';
import type { ClientOptions } from './http.js';
import { KvClient } from './kv-client.js';
import { LeaseClient, type LeaseKeepAlive } from './lease-client.js';
import { putRequest, rangeRequest } from './requests.js';
import { WatchClient, WatchError } from './watch.js';

export type LockErrorCode = 'SESSION_EXPIRED' | 'ABORTED';

export class LockError extends Error {
  override readonly name = 'LockError';
  constructor(
    readonly code: LockErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface LockOptions {
  /**
   * The lease the lock lives on (the caller keeps it alive). Without one, lock() grants a lease of
   * `ttl` seconds, keeps it alive while the lock is held and revokes it on unlock.
   */
  lease?: bigint;
  /** Seconds, for the lease lock() grants. Default 60 (etcd's session default). */
  ttl?: number;
  /** Gives up waiting: lock() rejects with LockError ABORTED and withdraws its key. */
  signal?: AbortSignal;
}

/** A held lock. */
export class Lock {
  constructor(
    /** The holder's key, `<name>/<lease hex>`. */
    readonly key: Uint8Array,
    /** The fencing token: the key's create revision; later holders of the same name get larger ones. */
    readonly revision: number,
    readonly lease: bigint,
    /** The header of the read that confirmed the lock. */
    readonly header: ResponseHeader,
    private readonly release: () => Promise<void>,
  ) {}

  /** The compare that holds exactly while this lock does: add it to a txn to fence its writes. */
  guard(): Compare {
    return { key: this.key, rangeEnd: new Uint8Array(0), target: CompareTarget.CREATE, result: CompareResult.EQUAL, operand: { kind: 'createRevision', createRevision: this.revision } };
  }

  /** Deletes the key (and revokes the lease lock() granted). Idempotent. */
  unlock(): Promise<void> {
    return this.release();
  }
}

export class LockClient {
  private readonly kv: KvClient;
  private readonly leases: LeaseClient;
  private readonly watches: WatchClient;

  constructor(opts: ClientOptions) {
    this.kv = new KvClient(opts);
    this.leases = new LeaseClient(opts);
    this.watches = new WatchClient(opts);
  }

  /** Waits for the lock called `name` (not empty) and returns it held. */
  async lock(name: string, opts: LockOptions = {}): Promise<Lock> {
    if (name === '') throw new TypeError('lock: the name must not be empty');
    const own = opts.lease === undefined;
    const lease = opts.lease ?? (await this.leases.grant(opts.ttl ?? 60)).id;
    const keepAlive: LeaseKeepAlive | undefined = own ? this.leases.keepAlive(lease) : undefined;
    const prefix = bytesFromString(`${name}/`);
    const key = bytesFromString(`${name}/${lease.toString(16)}`);
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      keepAlive?.stop();
      // Revoking the lease lock() granted deletes the key with it, in one step.
      if (own) await this.leases.revoke(lease).catch(() => this.kv.deleteRange({ key }));
      else await this.kv.deleteRange({ key });
    };
    try {
      const myRev = await this.enqueue(key, lease);
      await this.waitForOlder(prefix, myRev, opts.signal);
      // L14: the turn came, but the key may have expired with the lease while we waited.
      const mine = await this.kv.range({ key });
      const kv0 = mine.kvs[0];
      if (kv0 === undefined || kv0.createRevision !== myRev) {
        throw new LockError('SESSION_EXPIRED', `lock ${bytesToString(key)}: the lease expired before the lock was acquired`);
      }
      return new Lock(key, myRev, lease, mine.header, release);
    } catch (err) {
      await release().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.watches.close();
    await this.kv.close();
  }

  /** Puts the waiter's key if absent; its create revision (etcd Mutex.tryAcquire). */
  private async enqueue(key: Uint8Array, lease: bigint): Promise<number> {
    const res = await this.kv.txn({
      compare: [{ key, rangeEnd: new Uint8Array(0), target: CompareTarget.CREATE, result: CompareResult.EQUAL, operand: { kind: 'createRevision', createRevision: 0 } }],
      success: [{ type: 'put', put: putRequest({ key, lease }) }],
      failure: [{ type: 'range', range: rangeRequest({ key }) }],
    });
    if (res.succeeded) return res.header.revision;
    const r = res.responses[0];
    const existing = r !== undefined && r.type === 'range' ? r.range.kvs[0] : undefined;
    // Gone between the compare and now cannot happen inside one txn: the failure branch read it.
    if (existing === undefined) throw new LockError('SESSION_EXPIRED', `lock ${bytesToString(key)}: the key vanished`);
    return existing.createRevision;
  }

  /** Returns once no key under `prefix` was created before `myRev` (etcd's waitDeletes). */
  private async waitForOlder(prefix: Uint8Array, myRev: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted === true) throw new LockError('ABORTED', 'lock: aborted while waiting');
      const res = await this.kv.range(
        rangeRequest({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: SortTarget.CREATE, sortOrder: SortOrder.DESCEND, limit: 1, maxCreateRevision: myRev - 1 }),
      );
      const older: KeyValue | undefined = res.kvs[0];
      if (older === undefined) return;
      await this.deleted(older.key, res.header.revision + 1, signal);
    }
  }

  /** Resolves when `key` is deleted at or after `from` (or the watch cannot say: the caller looks again). */
  private async deleted(key: Uint8Array, from: number, signal: AbortSignal | undefined): Promise<void> {
    const w = this.watches.watch(key, { startRevision: from, filters: [WatchFilterType.NOPUT] });
    const onAbort = (): void => void w.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const r = await w.next();
        if (r.done === true) return;
        if (r.value.kind === 'events' && r.value.events.length > 0) return;
      }
    } catch (err) {
      // Compacted past `from`: the key may be long gone; the caller reads again.
      if (err instanceof WatchError && err.code === 'COMPACTED') return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await w.close();
    }
  }
}
