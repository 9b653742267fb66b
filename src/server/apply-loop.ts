import type { Entry, KvStore, WriteRequest, WriteResult } from '../mvcc/index.js';
import { ServerError } from './errors.js';

// The single-member write path: every proposal waiting when the loop turns becomes one entry of
// one batch, the batch is applied in ONE storage transaction and answered only once it is durable.
// Group commit is what keeps durability from costing one fsync per request.
//
// Reads are gated on durability too. LMDB makes a committed transaction visible before its flush
// completes; a read served in that window could return a write that a crash then loses (a dirty
// read). So while a batch is in flight, reads queue here and run synchronously between "batch N is
// durable" and "batch N+1 is committed". This is the single-member stand-in for Raft's rule that
// only committed entries are applied; the Raft issue replaces the batching with Ready handling.

interface Pending {
  request: WriteRequest;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

export interface ApplyLoopOptions {
  /** Upper bound on entries per batch, so one transaction stays short. */
  maxBatch?: number;
  /** Called once if storage fails: the member cannot continue safely and must stop. */
  onFatal: (err: unknown) => void;
}

export class ApplyLoop {
  private queue: Pending[] = [];
  private readers: Array<{ run: () => void; fail: (err: unknown) => void }> = [];
  private running = false;
  private inFlight = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};
  private lastIndex: number;
  private readonly maxBatch: number;

  constructor(
    private readonly kv: KvStore,
    private readonly opts: ApplyLoopOptions,
  ) {
    this.lastIndex = kv.appliedIndex;
    this.maxBatch = opts.maxBatch ?? 1024;
  }

  propose(request: WriteRequest): Promise<WriteResult> {
    if (this.stopped) return Promise.reject(new ServerError('STOPPED', 'server stopped'));
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.running) this.start();
    });
  }

  /** Runs `read` against durable state only: now if nothing is in flight, else after the flush. */
  read<T>(read: () => T): Promise<T> {
    if (this.stopped) return Promise.reject(new ServerError('STOPPED', 'server stopped'));
    if (!this.inFlight) {
      try {
        return Promise.resolve(read());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        try {
          resolve(read());
        } catch (err) {
          reject(err);
        }
      };
      this.readers.push({ run, fail: reject });
    });
  }

  /** Stops taking proposals; resolves when everything already accepted is durable and answered. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.idle;
  }

  private start(): void {
    this.running = true;
    this.idle = new Promise((r) => (this.markIdle = r));
    // setImmediate, not a microtask: requests parsed in the same poll phase join this batch.
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const entries: Entry[] = batch.map((p) => ({ index: ++this.lastIndex, request: p.request }));
      this.inFlight = true;
      let results: WriteResult[];
      try {
        ({ results } = await this.kv.apply(entries));
      } catch (err) {
        // Storage failed mid-write: nothing in this batch may be acknowledged, and the in-memory
        // position can no longer be trusted. Refuse everything and let the process stop.
        this.stopped = true;
        this.inFlight = false;
        for (const p of batch) p.reject(err);
        for (const p of this.queue.splice(0)) p.reject(err);
        for (const r of this.readers.splice(0)) r.fail(err);
        this.running = false;
        this.markIdle();
        this.opts.onFatal(err);
        return;
      }
      this.inFlight = false;
      batch.forEach((p, i) => p.resolve(results[i]!));
      this.runReaders();
    }
    this.running = false;
    this.markIdle();
  }

  private runReaders(): void {
    const readers = this.readers;
    this.readers = [];
    for (const r of readers) r.run();
  }
}
