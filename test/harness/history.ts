// A recorded client history for the linearizability checker (test/harness/linearizability.ts):
// every operation a workload client issues, with the time it was invoked, the time it completed
// (or null when its outcome is unknown: a timeout or a connection error), and what it returned.

/** What a client asked for, on one key (a register). */
export type RegisterInput =
  | { f: 'get' }
  | { f: 'put'; value: string }
  /** A txn comparing the key's value to `expect` and putting `value` when it is equal. */
  | { f: 'cas'; expect: string; value: string }
  /**
   * A txn comparing the key's mod revision to `expectRev` and putting `value` when it is equal.
   * `expect` is the value the client saw at that mod revision: values are written once each, so
   * the compare holds exactly when the register holds `expect`, and the model checks it as a value
   * CAS. That correspondence is checked separately (every value has one mod revision).
   */
  | { f: 'cas-rev'; expectRev: number; expect: string; value: string };

/** What the member answered. `get` answers null for an absent key. */
export type RegisterOutput = { f: 'get'; value: string | null } | { f: 'put' } | { f: 'cas'; ok: boolean };

export interface Operation {
  /** Position in the history (order of invocation). */
  id: number;
  client: number;
  key: string;
  input: RegisterInput;
  /** Milliseconds since the recorder was created (monotonic clock). */
  invoke: number;
  /** Null when the outcome is unknown: the operation may have taken effect at any time after `invoke`, or never. */
  complete: number | null;
  /** Null exactly when `complete` is null. */
  output: RegisterOutput | null;
  /** Header revision of the answer, when there was one. */
  revision?: number;
  /** For a get that found the key: the key's mod revision. */
  modRevision?: number;
  /** The member the client sent the request to. */
  member?: string;
  /** Why the outcome is unknown, or why it failed. */
  error?: string;
  /** The operation definitely did not take effect (the connection was refused): the checker ignores it. */
  failed?: boolean;
}

export class HistoryRecorder {
  private readonly ops: Operation[] = [];
  private readonly t0 = performance.now();

  now(): number {
    return performance.now() - this.t0;
  }

  invoke(client: number, key: string, input: RegisterInput, member?: string): Operation {
    const op: Operation = { id: this.ops.length, client, key, input, invoke: this.now(), complete: null, output: null };
    if (member !== undefined) op.member = member;
    this.ops.push(op);
    return op;
  }

  ok(op: Operation, output: RegisterOutput, revision?: number, modRevision?: number): void {
    op.complete = this.now();
    op.output = output;
    if (revision !== undefined) op.revision = revision;
    if (modRevision !== undefined) op.modRevision = modRevision;
  }

  unknown(op: Operation, error: string): void {
    op.complete = null;
    op.output = null;
    op.error = error;
  }

  /** The request definitely never reached a member (connection refused): it took no effect. */
  fail(op: Operation, error: string): void {
    op.complete = this.now();
    op.output = null;
    op.failed = true;
    op.error = error;
  }

  get operations(): readonly Operation[] {
    return this.ops;
  }
}

export function describeOp(op: Operation): string {
  const i = op.input;
  const call =
    i.f === 'get'
      ? `get(${op.key})`
      : i.f === 'put'
        ? `put(${op.key}, ${i.value})`
        : i.f === 'cas'
          ? `cas(${op.key}, ${i.expect} -> ${i.value})`
          : `cas-rev(${op.key}, mod ${i.expectRev} [${i.expect}] -> ${i.value})`;
  const o = op.output;
  const out = op.failed === true ? `failed [${op.error ?? ''}]` : o === null ? `unknown${op.error !== undefined ? ` [${op.error}]` : ''}` : o.f === 'get' ? (o.value === null ? 'absent' : o.value) : o.f === 'put' ? 'ok' : o.ok ? 'succeeded' : 'failed';
  const when = `[${op.invoke.toFixed(1)}, ${op.complete === null ? '∞' : op.complete.toFixed(1)}]`;
  const rev = op.revision !== undefined ? ` rev ${op.revision}` : '';
  const member = op.member !== undefined ? ` @${op.member}` : '';
  return `#${op.id} c${op.client} ${when} ${call} => ${out}${rev}${member}`;
}
