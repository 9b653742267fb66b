// A linearizability checker for key-value histories (Wing & Gong's search with Lowe's
// memoization, as in porcupine). A history of independent objects is linearizable exactly when
// each object's sub-history is (P-compositionality, Herlihy & Wing). With single-key operations
// every key is its own object; a multi-key operation (mget, txn: L2) ties its keys into one object,
// so the history is split into groups of keys connected by some operation (union-find) and each
// group is searched on its own, its state being the values of all its keys. Multi-key workloads
// keep such a group small (a few keys, a short history), or the search grows.
//
// Model: a register holding a string or nothing (absent key). get returns the value or absent; put
// sets it; cas(expect, value) succeeds and sets `value` only when the register holds `expect`
// (etcd's value compare always fails on an absent key). cas-rev (compare on mod revision) is
// checked as a value CAS on the value the client saw at that revision (see history.ts). A txn
// applies all its writes at once when all its compares hold, else reads its `reads` (checked
// against the state); an mget reads all its keys at one point.
//
// Unknown outcomes: an operation with complete === null may have taken effect at any point after
// its invocation, or never. Its return is placed at +∞ and the search succeeds as soon as every
// operation with a known outcome is linearized: whatever unknown ones are still pending then are
// the ones that never took effect. A get with an unknown outcome says nothing and is dropped, and
// so is an operation marked `failed` (it provably never reached a member).
import { describeOp, opKeys, type Operation, type RegisterInput, type RegisterOutput } from './history.js';

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

/** A group's state: the value of each of its keys (null: absent), indexed by position. */
export type GroupState = readonly RegisterState[];

/**
 * The model's transition for any operation over a group of keys (`at` gives a key's position in
 * the state): the next state (the same array when nothing changed), or undefined when `output` is
 * impossible from `state`. A null output (unknown outcome) is possible from any state.
 */
export function stepGroup(state: GroupState, at: (key: string) => number, op: Pick<Operation, 'key' | 'input' | 'output'>): GroupState | undefined {
  const i = op.input;
  const o = op.output;
  if (i.f === 'mget') {
    if (o === null) return state;
    if (o.f !== 'mget' || o.values.length !== i.keys.length) return undefined;
    return i.keys.every((k, j) => state[at(k)] === o.values[j]) ? state : undefined;
  }
  if (i.f === 'txn') {
    const holds = i.compare.every((c) => {
      const v = state[at(c.key)] ?? null;
      // A value compare never holds on an absent key; a mod compare is "holds the value seen at
      // that revision", or absent for revision 0.
      return c.kind === 'value' ? v !== null && v === c.expect : v === c.expect;
    });
    if (o !== null) {
      if (o.f !== 'txn' || o.ok !== holds) return undefined;
      const vals = o.values;
      if (!holds && vals !== undefined && (vals.length !== i.reads.length || !i.reads.every((k, j) => state[at(k)] === vals[j]))) return undefined;
    }
    if (!holds) return state;
    const next = state.slice();
    for (const w of i.writes) next[at(w.key)] = w.value;
    return next;
  }
  const k = at(op.key);
  const cur = state[k] ?? null;
  const n = step(cur, i, o);
  if (n === undefined) return undefined;
  if (n === cur) return state;
  const next = state.slice();
  next[k] = n;
  return next;
}

export interface KeyFailure {
  /** The key, or the group's keys joined by ", ". */
  key: string;
  keys: string[];
  /** The operation the longest partial linearization could not place. */
  blocked: Operation;
  /** Model state after that partial linearization: one value per key of `keys`. */
  state: RegisterState[];
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
  const relevant = history.filter(
    // Never reached a member; an unanswered read constrains nothing.
    (op) => op.failed !== true && !((op.input.f === 'get' || op.input.f === 'mget') && op.output === null),
  );
  // Union-find over keys: keys some operation touches together form one group.
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r) ?? (parent.set(r, r), r);
    parent.set(k, r);
    return r;
  };
  for (const op of relevant) {
    const ks = opKeys(op);
    for (const k of ks) find(k);
    for (const k of ks.slice(1)) parent.set(find(k), find(ks[0]!));
  }
  const groups = new Map<string, { keys: Set<string>; ops: Operation[] }>();
  for (const op of relevant) {
    const root = find(opKeys(op)[0]!);
    let g = groups.get(root);
    if (g === undefined) groups.set(root, (g = { keys: new Set(), ops: [] }));
    for (const k of opKeys(op)) g.keys.add(k);
    g.ops.push(op);
  }
  let operations = 0;
  const ordered = [...groups.values()].map((g) => ({ keys: [...g.keys].sort(), ops: g.ops })).sort((a, b) => (a.keys[0]! < b.keys[0]! ? -1 : 1));
  for (const g of ordered) {
    operations += g.ops.length;
    const r = checkGroup(g.keys, g.ops, g.keys.map((k) => opts.initial?.(k) ?? null), opts.maxSteps ?? 2_000_000);
    if (r !== null) return r;
  }
  return { ok: true, keys: parent.size, operations };
}

function checkGroup(keys: string[], ops: Operation[], initial: RegisterState[], maxSteps: number): CheckResult | null {
  const key = keys.join(', ');
  const index = new Map(keys.map((k, i) => [k, i]));
  const at = (k: string): number => index.get(k)!;
  const render = (st: GroupState): string => st.map((v) => (v === null ? '' : `=${v}`)).join('\u0001');
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
  let state: GroupState = initial;
  let bits = 0n;
  const stack: Array<{ node: Node; state: GroupState }> = [];
  const cache = new Set<string>();
  let best: { depth: number; blocked: number; state: GroupState; linearized: number[] } | null = null;
  let entry = head.next;
  for (let steps = 0; ; steps++) {
    if (done === known) return null;
    if (steps > maxSteps) {
      return { ok: false, kind: 'budget', key, message: `key ${key}: gave up after ${maxSteps} search steps over ${ops.length} operations` };
    }
    if (entry === null) throw new Error('internal: ran off the history with known operations left');
    if (entry.call) {
      const op = ops[entry.op]!;
      const next = stepGroup(state, at, op);
      if (next !== undefined) {
        const nbits = bits | (1n << BigInt(entry.op));
        const memo = `${nbits.toString(36)}|${render(next)}`;
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
  const failure: KeyFailure = { key, keys, blocked, state: [...b.state], linearized: b.linearized.map((i) => ops[i]!), pending };
  return { ok: false, kind: 'violation', failure, message: describeFailure(failure) };
}

const show = (v: RegisterState): string => (v === null ? 'absent' : v);

export function describeFailure(f: KeyFailure): string {
  const tail = f.linearized.slice(-8);
  return [
    `key ${f.key}: not linearizable.`,
    `  cannot place ${describeOp(f.blocked)}`,
    `  model state after the longest partial linearization (${f.linearized.length} ops): ${f.keys.length === 1 ? show(f.state[0] ?? null) : f.keys.map((k, i) => `${k}=${show(f.state[i] ?? null)}`).join(', ')}`,
    `  last linearized:`,
    ...tail.map((o) => `    ${describeOp(o)}`),
    `  concurrent and not linearized:`,
    ...f.pending.slice(0, 12).map((o) => `    ${describeOp(o)}`),
  ].join('\n');
}
