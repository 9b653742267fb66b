// A linearizability checker for register histories (Wing & Gong's search with Lowe's
// memoization, as in porcupine), per key: a history of independent registers is linearizable
// exactly when each key's sub-history is (P-compositionality, Herlihy & Wing), so every key is
// searched on its own.
//
// Model: a register holding a string or nothing (absent key). get returns the value or absent; put
// sets it; cas(expect, value) succeeds and sets `value` only when the register holds `expect`
// (etcd's value compare always fails on an absent key). cas-rev (compare on mod revision) is
// checked as a value CAS on the value the client saw at that revision (see history.ts).
//
// Unknown outcomes: an operation with complete === null may have taken effect at any point after
// its invocation, or never. Its return is placed at +∞ and the search succeeds as soon as every
// operation with a known outcome is linearized: whatever unknown ones are still pending then are
// the ones that never took effect. A get with an unknown outcome says nothing and is dropped, and
// so is an operation marked `failed` (it provably never reached a member).
import { describeOp, type Operation, type RegisterInput, type RegisterOutput } from './history.js';

export type RegisterState = string | null;

/** The model's transition: the next state, or undefined when `output` is impossible from `state`. */
export function step(state: RegisterState, input: RegisterInput, output: RegisterOutput | null): RegisterState | undefined {
  switch (input.f) {
    case 'get':
      if (output === null) return state;
      return output.f === 'get' && output.value === state ? state : undefined;
    case 'put':
      if (output !== null && output.f !== 'put') return undefined;
      return input.value;
    case 'cas':
    case 'cas-rev': {
      const succeeds = state !== null && state === input.expect;
      if (output !== null && (output.f !== 'cas' || output.ok !== succeeds)) return undefined;
      return succeeds ? input.value : state;
    }
  }
}

export interface KeyFailure {
  key: string;
  /** The operation the longest partial linearization could not place. */
  blocked: Operation;
  /** Model state after that partial linearization. */
  state: RegisterState;
  /** Operations in the longest partial linearization, in their linearized order. */
  linearized: Operation[];
  /** Operations concurrent with `blocked` that were not linearized at that point. */
  pending: Operation[];
}

export type CheckResult =
  | { ok: true; keys: number; operations: number }
  | { ok: false; kind: 'violation'; failure: KeyFailure; message: string }
  | { ok: false; kind: 'budget'; key: string; message: string };

export interface CheckOptions {
  /** State of every key before the history (default: absent). */
  initial?: (key: string) => RegisterState;
  /** Search steps per key before giving up (default 2,000,000). */
  maxSteps?: number;
}

interface Node {
  op: number;
  call: boolean;
  time: number;
  /** For a call node: its return node. */
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

export function checkHistory(history: readonly Operation[], opts: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (op.failed === true) continue; // never reached a member
    if (op.input.f === 'get' && op.output === null) continue; // an unanswered read constrains nothing
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  let operations = 0;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    operations += ops.length;
    const r = checkKey(key, ops, opts.initial?.(key) ?? null, opts.maxSteps ?? 2_000_000);
    if (r !== null) return r;
  }
  return { ok: true, keys: byKey.size, operations };
}

function checkKey(key: string, ops: Operation[], initial: RegisterState, maxSteps: number): CheckResult | null {
  const nodes: Node[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.complete !== null && op.complete < op.invoke) throw new Error(`operation ${op.id} completes before it is invoked`);
    const ret: Node = { op: i, call: false, time: op.complete ?? Number.POSITIVE_INFINITY, match: null, prev: null, next: null };
    const call: Node = { op: i, call: true, time: op.invoke, match: ret, prev: null, next: null };
    nodes.push(call, ret);
  }
  // By time; on a tie a call sorts before a return, so touching operations count as concurrent
  // (the lenient reading: a tie on the client's clock proves no order).
  nodes.sort((a, b) => a.time - b.time || (a.call === b.call ? a.op - b.op : a.call ? -1 : 1));
  const head: Node = { op: -1, call: false, time: Number.NEGATIVE_INFINITY, match: null, prev: null, next: null };
  let prev = head;
  for (const n of nodes) {
    prev.next = n;
    n.prev = prev;
    prev = n;
  }

  const lift = (n: Node): void => {
    n.prev!.next = n.next;
    if (n.next !== null) n.next.prev = n.prev;
    const m = n.match!;
    m.prev!.next = m.next;
    if (m.next !== null) m.next.prev = m.prev;
  };
  const unlift = (n: Node): void => {
    const m = n.match!;
    m.prev!.next = m;
    if (m.next !== null) m.next.prev = m;
    n.prev!.next = n;
    if (n.next !== null) n.next.prev = n;
  };

  const known = ops.filter((o) => o.complete !== null).length;
  let done = 0;
  let state = initial;
  let bits = 0n;
  const stack: Array<{ node: Node; state: RegisterState }> = [];
  const cache = new Set<string>();
  let best: { depth: number; blocked: number; state: RegisterState; linearized: number[] } | null = null;
  let entry = head.next;
  for (let steps = 0; ; steps++) {
    if (done === known) return null;
    if (steps > maxSteps) {
      return { ok: false, kind: 'budget', key, message: `key ${key}: gave up after ${maxSteps} search steps over ${ops.length} operations` };
    }
    if (entry === null) throw new Error('internal: ran off the history with known operations left');
    if (entry.call) {
      const op = ops[entry.op]!;
      const next = step(state, op.input, op.output);
      if (next !== undefined) {
        const nbits = bits | (1n << BigInt(entry.op));
        const memo = `${nbits.toString(36)}|${next === null ? '' : `=${next}`}`;
        if (!cache.has(memo)) {
          cache.add(memo);
          stack.push({ node: entry, state });
          state = next;
          bits = nbits;
          if (op.complete !== null) done++;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return reached before its operation was linearized: undo the last choice.
      if (best === null || stack.length > best.depth) {
        best = { depth: stack.length, blocked: entry.op, state, linearized: stack.map((s) => s.node.op) };
      }
      const top = stack.pop();
      if (top === undefined) break;
      const op = ops[top.node.op]!;
      state = top.state;
      bits &= ~(1n << BigInt(top.node.op));
      if (op.complete !== null) done--;
      unlift(top.node);
      entry = top.node.next;
    }
  }
  const b = best!;
  const blocked = ops[b.blocked]!;
  const done2 = new Set(b.linearized);
  const pending = ops.filter(
    (o, i) => i !== b.blocked && !done2.has(i) && o.invoke <= (blocked.complete ?? Number.POSITIVE_INFINITY) && (o.complete === null || o.complete >= blocked.invoke),
  );
  const failure: KeyFailure = { key, blocked, state: b.state, linearized: b.linearized.map((i) => ops[i]!), pending };
  return { ok: false, kind: 'violation', failure, message: describeFailure(failure) };
}

export function describeFailure(f: KeyFailure): string {
  const tail = f.linearized.slice(-8);
  return [
    `key ${f.key}: not linearizable.`,
    `  cannot place ${describeOp(f.blocked)}`,
    `  model state after the longest partial linearization (${f.linearized.length} ops): ${f.state === null ? 'absent' : f.state}`,
    `  last linearized:`,
    ...tail.map((o) => `    ${describeOp(o)}`),
    `  concurrent and not linearized:`,
    ...f.pending.slice(0, 12).map((o) => `    ${describeOp(o)}`),
  ].join('\n');
}
