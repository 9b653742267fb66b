// Timers driven by the test: nothing fires until run(), step() or advance() says so. Both the
// transport's and the watch hub's injected `Timers` have this `after(ms, fn) → cancel` shape.

export class FakeTimers {
  now = 0;
  private seq = 0;
  private pending: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];

  after(ms: number, fn: () => void): () => void {
    const t = { at: this.now + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** Runs, in time order, every timer due within `ms` (including ones those timers schedule). */
  advance(ms: number): void {
    const target = this.now + ms;
    while (this.step(target)) {
      // each step ran one due timer
    }
    this.now = target;
  }

  /** Runs what is due now (0 ms timers). */
  run(): void {
    this.advance(0);
  }

  /** Runs only the first timer due by `until` (default: now); false when none is. */
  step(until = this.now): boolean {
    this.pending = this.pending.filter((t) => !t.cancelled);
    this.pending.sort((x, y) => x.at - y.at || x.seq - y.seq);
    const t = this.pending[0];
    if (t === undefined || t.at > until) return false;
    this.pending.shift();
    this.now = Math.max(this.now, t.at);
    t.fn();
    return true;
  }
}
