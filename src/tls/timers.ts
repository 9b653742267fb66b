// Every timer the tls module uses goes through this interface, so tests can drive time. Timers
// are unref'd: a pending reload debounce must not keep a process alive.

/** Schedules `fn` after `ms` milliseconds; returns a function that cancels it (safe to call twice). */
export interface Timers {
  after(ms: number, fn: () => void): () => void;
}

export const NODE_TIMERS: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
