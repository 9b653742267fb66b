// Reconnect delays for long-lived streams: exponential backoff with full jitter (AWS architecture
// blog, "Exponential Backoff And Jitter"): the delay of attempt n is uniform in
// [0, min(maxMs, baseMs * 2^n)). Full jitter spreads the reconnects of many watchers that lost
// the same member, so the member that takes them over is not hit by all of them at one instant.
// Randomness is an input so tests can pin it.

export interface BackoffOptions {
  /** Upper bound of the first delay (attempt 0). Default 100 ms. */
  baseMs?: number;
  /** Cap on every delay's upper bound. Default 5000 ms. */
  maxMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 100, maxMs: 5000 };

/** The upper bound (exclusive) of attempt `attempt`'s delay. */
export function backoffCeiling(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  if (!Number.isInteger(attempt) || attempt < 0) throw new TypeError(`attempt must be a non-negative integer, got ${attempt}`);
  if (!(base >= 0) || !(max >= 0)) throw new TypeError('backoff baseMs and maxMs must be non-negative');
  // 2^attempt overflows to Infinity for large attempts; min() caps it.
  return Math.min(max, base * 2 ** Math.min(attempt, 1024));
}

/** A delay for attempt `attempt` (0 = the first retry), with `random()` in [0, 1). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const r = random();
  if (!(r >= 0 && r < 1)) throw new TypeError(`random() must return a number in [0, 1), got ${r}`);
  return Math.floor(r * backoffCeiling(attempt, opts));
}

/**
 * The attempt counter of one stream: `next()` gives the delay before the next reconnect and counts
 * the attempt; `reset()` after a connection succeeded starts over from the base delay.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    return backoffDelay(this.attempt++, this.opts, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
