// Exact latency percentiles from every sample of a measurement window.
// A closed-loop cell at ~50k req/s for 5 s is 250k doubles (2 MB): storing them all in
// fixed-size typed-array chunks costs no GC work on the hot path and avoids the
// bucket error of a histogram. Percentiles use the nearest-rank definition.

import type { LatencySummary } from './protocol.js';

const CHUNK = 1 << 16;

export class LatencySamples {
  private readonly chunks: Float64Array[] = [];
  private current: Float64Array = new Float64Array(CHUNK);
  private fill = 0;
  private total = 0;

  get count(): number {
    return this.total;
  }

  record(ms: number): void {
    if (this.fill === CHUNK) {
      this.chunks.push(this.current);
      this.current = new Float64Array(CHUNK);
      this.fill = 0;
    }
    this.current[this.fill++] = ms;
    this.total++;
  }

  summary(): LatencySummary {
    const n = this.total;
    if (n === 0) return { mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
    const all = new Float64Array(n);
    let off = 0;
    for (const c of this.chunks) {
      all.set(c, off);
      off += c.length;
    }
    all.set(this.current.subarray(0, this.fill), off);
    all.sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += all[i]!;
    const rank = (q: number): number => all[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    return {
      mean: sum / n,
      p50: rank(0.5),
      p90: rank(0.9),
      p99: rank(0.99),
      p999: rank(0.999),
      max: all[n - 1]!,
    };
  }
}
