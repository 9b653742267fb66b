// A recorded client history for the linearizability checker (test/harness/linearizability.ts):
// every operation a workload client issues, with the time it was invoked, the time it completed
// (or null when its outcome is unknown: a timeout or a connection error), and what it returned.

/**
 * One compare of a multi-key txn. `value`: the key holds `expect` (never holds on an absent key,
 * as in etcd). `mod`: the key's mod revision is `expectRev`, checked like cas-rev as "the key holds
 * `expect`", the value the client saw at that revision; `expectRev` 0 with `expect` null means the
 * key is absent (etcd compares an absent key's mod revision as 0).
 */
export type TxnCompare = { key: string; kind: 'value'; expect: string } | { key: string; kind: 'mod'; expectRev: number; expect: string | null };

/** One write of a multi-key txn's success branch: put `value`, or delete the key (null). */
export interface TxnWrite {
  key: string;
  value: string | null;
}

/** What a client asked for: on one key (a register), or on several keys at once (L2). */
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
  | { f: 'cas-rev'; expectRev: number; expect: string; value: string }
  /** One atomic read of several keys (a txn of ranges, or a range over their prefix). */
  | { f: 'mget'; keys: string[] }
  /**
   * One txn over several keys: when every compare holds, the writes (at one revision); otherwise
   * the failure branch, which reads `reads` (ranges, no writes).
   */
  | { f: 'txn'; compare: TxnCompare[]; writes: TxnWrite[]; reads: string[] };

/** What the member answered. `get` answers null for an absent key. */
export type RegisterOutput =
  | { f: 'get'; value: string | null }
  | { f: 'put' }
  | { f: 'cas'; ok: boolean }
  /** Values in the order of the input's keys; `mods` their mod revisions (0: absent). */
  | { f: 'mget'; values: Array<string | null>; mods: number[] }
  /** Failure branch: `values`/`mods` of the input's `reads`, in order. */
  | { f: 'txn'; ok: boolean; values?: Array<string | null>; mods?: number[] };

/** Every key an operation touches: one for a register operation, several for mget and txn. */
export function opKeys(op: Pick<Operation, 'key' | 'input'>): string[] {
  const i = op.input;
  if (i.f === 'mget') return [...new Set(i.keys)];
  if (i.f === 'txn') return [...new Set([...i.compare.map((c) => c.key), ...i.writes.map((w) => w.key), ...i.reads])];
  return [op.key];
}

export interface Operation {
  /** Position in the history (order of invocation). */
  id: number;
  client: number;
  /** The register's key; for mget and txn a label (their keys are in `input`, see opKeys). */
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

const show = (v: string | null): string => (v === null ? 'absent' : v);

export function describeOp(op: Operation): string {
  const i = op.input;
  const call =
    i.f === 'mget'
      ? `mget(${i.keys.join(', ')})`
      : i.f === 'txn'
        ? `txn(if ${i.compare.map((c) => (c.kind === 'value' ? `${c.key}=${c.expect}` : `mod(${c.key})=${c.expectRev} [${show(c.expect)}]`)).join(' && ') || 'true'} then ${i.writes.map((w) => (w.value === null ? `del ${w.key}` : `${w.key}:=${w.value}`)).join(', ')} else read ${i.reads.join(', ')})`
        : i.f === 'get'
      ? `get(${op.key})`
      : i.f === 'put'
        ? `put(${op.key}, ${i.value})`
        : i.f === 'cas'
          ? `cas(${op.key}, ${i.expect} -> ${i.value})`
          : `cas-rev(${op.key}, mod ${i.expectRev} [${i.expect}] -> ${i.value})`;
  const o = op.output;
  const out =
    op.failed === true
      ? `failed [${op.error ?? ''}]`
      : o === null
        ? `unknown${op.error !== undefined ? ` [${op.error}]` : ''}`
        : o.f === 'get'
          ? show(o.value)
          : o.f === 'put'
            ? 'ok'
            : o.f === 'mget'
              ? `[${o.values.map(show).join(', ')}]`
              : o.f === 'txn'
                ? o.ok
                  ? 'succeeded'
                  : `failed [${(o.values ?? []).map(show).join(', ')}]`
                : o.ok
                  ? 'succeeded'
                  : 'failed';
  const when = `[${op.invoke.toFixed(1)}, ${op.complete === null ? '∞' : op.complete.toFixed(1)}]`;
  const rev = op.revision !== undefined ? ` rev ${op.revision}` : '';
  const member = op.member !== undefined ? ` @${op.member}` : '';
  return `#${op.id} c${op.client} ${when} ${call} => ${out}${rev}${member}`;
}

/** The writes an answered operation reports as done: none for reads, failed compares and unknown outcomes. */
export function acknowledgedWrites(op: Operation): TxnWrite[] {
  const i = op.input;
  const o = op.output;
  if (o === null) return [];
  if (o.f === 'put' && i.f === 'put') return [{ key: op.key, value: i.value }];
  if (o.f === 'cas' && o.ok && (i.f === 'cas' || i.f === 'cas-rev')) return [{ key: op.key, value: i.value }];
  if (o.f === 'txn' && o.ok && i.f === 'txn') return i.writes;
  return [];
}

/** What an answered operation read, with mod revisions (0: absent) where the answer carried them. */
export function observedReads(op: Operation): Array<{ key: string; value: string | null; mod: number }> {
  const i = op.input;
  const o = op.output;
  if (o === null) return [];
  if (o.f === 'get') {
    if (o.value === null) return [{ key: op.key, value: null, mod: 0 }];
    return op.modRevision === undefined ? [] : [{ key: op.key, value: o.value, mod: op.modRevision }];
  }
  if (o.f === 'mget' && i.f === 'mget') return i.keys.map((key, j) => ({ key, value: o.values[j] ?? null, mod: o.mods[j] ?? 0 }));
  if (o.f === 'txn' && !o.ok && i.f === 'txn' && o.values !== undefined && o.mods !== undefined) {
    const { values, mods } = o;
    return i.reads.map((key, j) => ({ key, value: values[j] ?? null, mod: mods[j] ?? 0 }));
  }
  return [];
}
