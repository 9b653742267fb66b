// Every timer the watch hub uses goes through this interface, so tests drive time by hand and never
// sleep (STYLE.md 10). Same shape as the transport's: the watch module may not import transport.

/** Schedules `fn` after `ms` milliseconds (0 = soon, after the current turn); returns a canceller (safe to call twice). */
export interface Timers {
  after(ms: number, fn: () => void): () => void;
}

/**
 * Node's timers, unref'd: a pending catch-up round or progress tick alone must not keep a process
 * alive. A 0 ms delay uses setImmediate, which runs after pending I/O instead of a 1 ms timer.
 */
export const NODE_TIMERS: Timers = {
  after(ms, fn) {
    if (ms <= 0) {
      const t = setImmediate(fn);
      t.unref();
      return () => clearImmediate(t);
    }
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
