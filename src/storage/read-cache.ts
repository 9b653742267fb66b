// Decoded records of a replicated table kept between writes. A table read on every request (the
// auth meta record and users, tenant records) would otherwise be read and JSON-decoded from LMDB
// each time. The rule that keeps it right: a write may belong to a transaction that still aborts,
// so after any write the cache is bypassed (read through, not filled) until its owner says the
// writes are final (`committed(upTo)`, after the apply batch); a write behind the table's back (a
// restored snapshot) is announced with `invalidate()`.

export class ReadCache {
  private epoch = 0;
  private pending = false;
  /** The epoch right after the latest write. */
  private lastWrite = 0;
  private validAt = -1;
  private readonly maps: Array<Map<unknown, unknown>> = [];

  /** Counts writes, committed or not, and every invalidation: for caches built on top. */
  writeEpoch(): number {
    return this.epoch;
  }

  /** The table was written (maybe inside a transaction that may still abort). */
  wrote(): void {
    this.epoch++;
    this.lastWrite = this.epoch;
    this.pending = true;
  }

  /**
   * The writes made up to `upTo` (a writeEpoch() taken after them; default: every write so far)
   * are final. Reads may be cached again unless a later write is still pending: with pipelined
   * persistence the next batch may have written before this one's commit was announced.
   */
  committed(upTo: number = this.epoch): void {
    if (!this.pending) return;
    this.epoch++;
    if (upTo >= this.lastWrite) this.pending = false;
  }

  /** The table changed behind this cache's back: forget everything read. */
  invalidate(): void {
    this.epoch++;
  }

  /**
   * A cache of one kind of record by key. `load` reads and decodes it (undefined: absent); what
   * it returns is shared between callers, so it should be frozen. At most `maxMisses` absent
   * keys are remembered (keys often come from clients).
   */
  map<K, V>(maxMisses = 1024): (key: K, load: () => V | undefined) => V | undefined {
    const m = new Map<K, V | null>();
    this.maps.push(m as Map<unknown, unknown>);
    return (key, load) => {
      if (!this.usable()) return load();
      const hit = m.get(key);
      if (hit !== undefined) return hit ?? undefined;
      const v = load();
      if (v !== undefined || m.size < maxMisses) m.set(key, v ?? null);
      return v;
    };
  }

  private usable(): boolean {
    if (this.pending) return false;
    if (this.validAt !== this.epoch) {
      this.validAt = this.epoch;
      for (const m of this.maps) m.clear();
    }
    return true;
  }
}
