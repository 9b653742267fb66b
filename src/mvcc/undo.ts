// An undo log over a write transaction: every put and remove first records what the key held, so
// the writes of one entry can be taken back inside the batch's LMDB transaction (lmdb-js has no
// synchronous child transaction to abort). Used only for entries a UsageSession may refuse after
// they executed (a quota decided on the entry's net change), so the refusal leaves no trace.
//
// Rolling back restores the recorded values in reverse order, so a key written several times ends
// with the value it had before the first write. Values read from a Table are fresh copies
// (storage's contract), so keeping them is safe.
import type { Table, WriteTxn } from '../storage/index.js';

export class UndoLog implements WriteTxn {
  private readonly saved: Array<{ table: Table; key: Uint8Array; prev: Uint8Array | undefined }> = [];

  constructor(private readonly inner: WriteTxn) {}

  put(table: Table, key: Uint8Array, value: Uint8Array): void {
    this.saved.push({ table, key, prev: table.get(key) });
    this.inner.put(table, key, value);
  }

  remove(table: Table, key: Uint8Array): boolean {
    const prev = table.get(key);
    this.saved.push({ table, key, prev });
    return this.inner.remove(table, key);
  }

  /** Puts back everything written through this log, newest first. */
  rollback(): void {
    for (let i = this.saved.length - 1; i >= 0; i--) {
      const { table, key, prev } = this.saved[i]!;
      if (prev === undefined) this.inner.remove(table, key);
      else this.inner.put(table, key, prev);
    }
    this.saved.length = 0;
  }
}
