// Every timer the transport uses goes through this interface, so tests can drive time and a
// deployment can swap the implementation. Timers are unref'd: a pending reconnect or keep-alive
// alone must not keep a process alive (the listening server does that while the transport runs).

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
