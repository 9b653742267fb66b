// What the store applied but LMDB may not show yet: the history records and meta record of batches
// whose write transaction is staged on lmdb-js's write worker and not yet committed (pipelined
// persistence). Reads on the event loop see LMDB's last committed snapshot; with this overlay they
// see every applied batch, so a member may answer a write as soon as its batch is staged instead
// of waiting for the worker's commit — a later read on the same member still finds it (etcd's
// backend serves reads the same way from its uncommitted write buffer).
//
// Only `kv` and `meta` are covered: a batch that writes any other table (leases, tenant usage,
// auth, membership) waits for its commit before it is answered (ApplyResult.otherTables).
// The overlay forgets a record once LMDB's committed meta shows its revision; everything else in
// it is at most the batches in flight.
import type { MetaState } from './codec.js';
import { readU64 } from './revision.js';

interface Staged {
  main: number;
  value: Uint8Array;
}

export class StagedRecords {
  /** Record key (latin1 of the 16 revision bytes) → record, in revision order (insertion order). */
  private readonly records = new Map<string, Staged>();
  private meta: MetaState | undefined;
  /** The open batch: its keys and the meta before it, for rollback. */
  private batch: { keys: string[]; metaBefore: MetaState | undefined } | undefined;

  get size(): number {
    return this.records.size;
  }

  begin(): void {
    this.batch = { keys: [], metaBefore: this.meta };
  }

  end(): void {
    this.batch = undefined;
  }

  /** A point in the open batch to roll back to (one entry taken back). */
  mark(): number {
    return this.batch?.keys.length ?? 0;
  }

  /** Forgets the records the open batch added after `mark`. */
  rollbackTo(mark: number): void {
    const keys = this.batch?.keys;
    if (keys === undefined) return;
    for (const k of keys.splice(mark)) this.records.delete(k);
  }

  /** Forgets the open batch's records and meta (its transaction did not commit). */
  rollback(): void {
    const b = this.batch;
    if (b === undefined) return;
    for (const k of b.keys) this.records.delete(k);
    this.meta = b.metaBefore;
    this.batch = undefined;
  }

  clear(): void {
    this.records.clear();
    this.meta = undefined;
    this.batch = undefined;
  }

  add(revBytes: Uint8Array, value: Uint8Array): void {
    const k = latin1(revBytes);
    this.records.set(k, { main: readU64(revBytes, 0, 'revision'), value });
    this.batch?.keys.push(k);
  }

  setMeta(m: MetaState): void {
    this.meta = { ...m };
  }

  get(revBytes: Uint8Array): Uint8Array | undefined {
    return this.records.size === 0 ? undefined : this.records.get(latin1(revBytes))?.value;
  }

  /**
   * The meta readers should use: the newest applied, given what LMDB has committed; drops what
   * the commit made visible.
   */
  visible(committed: MetaState): MetaState {
    if (this.records.size > 0) {
      for (const [k, r] of this.records) {
        if (r.main > committed.currentRevision) break;
        this.records.delete(k);
      }
    }
    if (this.meta === undefined) return committed;
    if (committed.appliedIndex >= this.meta.appliedIndex) {
      this.meta = undefined;
      return committed;
    }
    return { ...this.meta };
  }

  /** Staged records with revision main > `after`, in revision order, as (revision bytes, record). */
  *after(after: number): Generator<{ key: Uint8Array; value: Uint8Array }> {
    for (const [k, r] of this.records) if (r.main > after) yield { key: Buffer.from(k, 'latin1'), value: r.value };
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
