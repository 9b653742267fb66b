// An indexed binary min-heap: one entry per lease ID, ordered by a time, whose time can be moved
// (etcd's LeaseQueue with its index map). Setting an ID that is already queued updates it in
// place, so a lease renewed a thousand times still has one entry, not a thousand stale ones.

interface Item {
  id: bigint;
  at: number;
}

export class TimeQueue {
  private readonly items: Item[] = [];
  private readonly pos = new Map<bigint, number>();

  get size(): number {
    return this.items.length;
  }

  /** Queues `id` at `at`, or moves it there if already queued. */
  set(id: bigint, at: number): void {
    const i = this.pos.get(id);
    if (i === undefined) {
      this.items.push({ id, at });
      this.pos.set(id, this.items.length - 1);
      this.up(this.items.length - 1);
      return;
    }
    const old = this.items[i]!.at;
    this.items[i]!.at = at;
    if (at < old) this.up(i);
    else this.down(i);
  }

  /** The earliest entry, without removing it. */
  peek(): Item | undefined {
    const top = this.items[0];
    return top === undefined ? undefined : { id: top.id, at: top.at };
  }

  delete(id: bigint): void {
    const i = this.pos.get(id);
    if (i === undefined) return;
    const last = this.items.length - 1;
    this.swap(i, last);
    this.items.pop();
    this.pos.delete(id);
    if (i < this.items.length) {
      this.down(i);
      this.up(i);
    }
  }

  has(id: bigint): boolean {
    return this.pos.has(id);
  }

  clear(): void {
    this.items.length = 0;
    this.pos.clear();
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.items[p]!.at <= this.items[i]!.at) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.items[l]!.at < this.items[m]!.at) m = l;
      if (r < n && this.items[r]!.at < this.items[m]!.at) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    const x = this.items[a]!;
    const y = this.items[b]!;
    this.items[a] = y;
    this.items[b] = x;
    this.pos.set(y.id, a);
    this.pos.set(x.id, b);
  }
}
