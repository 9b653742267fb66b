// Requests waiting for their log entry to be applied on this member, keyed by sequence number.
// Every waiter gets the same timeout, so deadlines are in insertion order and one coarse sweep
// finds the expired ones at the front of the map: no timer per request on the hot path.

export interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
  deadline: number;
}

export class WaitRegistry<T> {
  private readonly waiters = new Map<bigint, Waiter<T>>();

  constructor(
    private readonly timeoutMs: number,
    private readonly timeoutError: () => unknown,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  wait(seq: bigint): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiters.set(seq, { resolve, reject, deadline: this.now() + this.timeoutMs });
    });
  }

  has(seq: bigint): boolean {
    return this.waiters.has(seq);
  }

  resolve(seq: bigint, v: T): void {
    const w = this.waiters.get(seq);
    if (w === undefined) return;
    this.waiters.delete(seq);
    w.resolve(v);
  }

  reject(seq: bigint, e: unknown): void {
    const w = this.waiters.get(seq);
    if (w === undefined) return;
    this.waiters.delete(seq);
    w.reject(e);
  }

  /** Rejects every waiter past its deadline. */
  sweep(): void {
    const now = this.now();
    for (const [seq, w] of this.waiters) {
      if (w.deadline > now) break;
      this.waiters.delete(seq);
      w.reject(this.timeoutError());
    }
  }

  rejectAll(e: unknown): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of all) w.reject(e);
  }
}
