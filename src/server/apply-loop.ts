import type { Entry, KvStore, WriteRequest, WriteResult } from '../mvcc/index.js';
import { ServerError } from './errors.js';

// The single-member write path: proposals waiting when the loop turns become one batch, applied
// in ONE storage transaction (data + applied index), and answered only once that batch is durable.
// Group commit keeps durability from costing one fsync per request, and batches are pipelined:
// batch N+1 commits while batch N is being flushed (LMDB flushes in commit order), so the loop is
// never idle waiting for the disk while proposals queue up.
//
// Reads must never see a write that a crash could still lose (a dirty read). LMDB makes a commit
// visible before its flush completes, so while any batch is committed but not yet durable, reads
// are served as of `durableRevision` — the store exactly as it was after the last durable batch —
// through mvcc's history. When nothing is in flight, reads take the direct current-state path.
// This is the single-member stand-in for Raft's rule that only committed entries are applied; the
// Raft issue replaces the batching with Ready handling.

interface Pending {
  request: WriteRequest;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

export interface ApplyLoopOptions {
  /** Upper bound on entries per batch, so one transaction stays short. */
  maxBatch?: number;
  /** Most batches committed but not yet durable at once. */
  maxPipeline?: number;
  /** Called once if storage fails: the member cannot continue safely and must stop. */
  onFatal: (err: unknown) => void;
}

/** What a read may see: `asOf` undefined means the current state is durable. */
export interface ReadView {
  asOf: number | undefined;
  appliedIndex: number;
}

export class ApplyLoop {
  private queue: Pending[] = [];
  private committing = false;
  private scheduled = false;
  private notDurable = 0;
  private stopped = false;
  private failure: unknown;
  private durableRevision: number;
  private durableIndex: number;
  private lastIndex: number;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly maxPipeline: number;

  constructor(
    private readonly kv: KvStore,
    private readonly opts: ApplyLoopOptions,
  ) {
    this.lastIndex = kv.appliedIndex;
    this.durableIndex = kv.appliedIndex;
    this.durableRevision = kv.currentRevision;
    this.maxBatch = opts.maxBatch ?? 1024;
    this.maxPipeline = opts.maxPipeline ?? 4;
  }

  propose(request: WriteRequest): Promise<WriteResult> {
    if (this.stopped) return Promise.reject(this.failure ?? new ServerError('STOPPED', 'server stopped'));
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.pump();
    });
  }

  /** Runs `read` against durable state only (see the module comment). */
  read<T>(read: (view: ReadView) => T): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.stopped && this.isIdle()) return Promise.reject(new ServerError('STOPPED', 'server stopped'));
    try {
      const inFlight = this.committing || this.notDurable > 0;
      return Promise.resolve(read({ asOf: inFlight ? this.durableRevision : undefined, appliedIndex: this.durableIndex }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Stops taking proposals; resolves when everything already accepted is durable and answered. */
  close(): Promise<void> {
    this.stopped = true;
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && !this.committing && this.notDurable === 0;
  }

  private pump(): void {
    if (this.scheduled || this.committing || this.failure !== undefined) return;
    if (this.queue.length === 0 || this.notDurable >= this.maxPipeline) return;
    this.scheduled = true;
    // setImmediate, not a microtask: requests parsed in the same poll phase join this batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.commitNext();
    });
  }

  private async commitNext(): Promise<void> {
    if (this.committing || this.failure !== undefined || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    const entries: Entry[] = batch.map((p) => ({ index: ++this.lastIndex, request: p.request }));
    this.committing = true;
    this.notDurable++;
    let results: WriteResult[];
    try {
      ({ results } = await this.kv.apply(entries, 'committed'));
    } catch (err) {
      this.fail(err, batch);
      return;
    }
    this.committing = false;
    const revision = this.kv.currentRevision;
    const index = entries[entries.length - 1]!.index;
    // flushed() covers everything committed before the call, and flushes complete in commit
    // order, so acknowledgements go out in commit order too.
    this.kv.flushed().then(
      () => {
        this.notDurable--;
        this.durableRevision = Math.max(this.durableRevision, revision);
        this.durableIndex = Math.max(this.durableIndex, index);
        batch.forEach((p, i) => p.resolve(results[i]!));
        this.pump();
        if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
      },
      (err: unknown) => this.fail(err, batch),
    );
    this.pump();
  }

  private fail(err: unknown, batch: Pending[]): void {
    // Storage failed mid-write: nothing not yet durable may be acknowledged, and the in-memory
    // position can no longer be trusted. Refuse everything and let the process stop.
    if (this.failure !== undefined) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.failure = err;
    this.stopped = true;
    this.committing = false;
    this.notDurable = 0;
    for (const p of batch) p.reject(err);
    for (const p of this.queue.splice(0)) p.reject(err);
    for (const w of this.idleWaiters.splice(0)) w();
    this.opts.onFatal(err);
  }
}
