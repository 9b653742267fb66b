// Direct RawNode drivers for unit-level raft tests: build a node over a
// MemoryStorage with a chosen log, step crafted messages, and read what it
// would send after persisting.

import { MemoryStorage, RawNode } from '../../src/raft/index.js';
import type { Entry, HardState, Message, NodeId, Ready } from '../../src/raft/index.js';
import { Prng } from '../harness/simnet.js';

export interface NodeSpec {
  id: number;
  voters: number[];
  learners?: number[];
  /** Terms of entries 1..n (data is "e<index>"). */
  logTerms?: number[];
  hardState?: Partial<HardState>;
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  seed?: number;
}

export function entriesFor(terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: i + 1, type: 'normal' as const, data: new TextEncoder().encode(`e${i + 1}`) }));
}

/** A RawNode plus its "disk", handling Readies the way a correct driver does. */
export class TestNode {
  readonly storage: MemoryStorage;
  raw: RawNode;
  readonly id: NodeId;
  readonly applied: Entry[] = [];

  constructor(readonly spec: NodeSpec) {
    this.id = BigInt(spec.id);
    this.storage = new MemoryStorage({ voters: spec.voters.map(BigInt), learners: (spec.learners ?? []).map(BigInt) });
    if (spec.logTerms !== undefined) this.storage.append(entriesFor(spec.logTerms));
    if (spec.hardState !== undefined) {
      this.storage.setHardState({ term: spec.hardState.term ?? 0, vote: spec.hardState.vote ?? 0n, commit: spec.hardState.commit ?? 0 });
    }
    this.raw = this.newRaw();
  }

  newRaw(): RawNode {
    const rng = new Prng(this.spec.seed ?? this.spec.id);
    return new RawNode({
      id: this.id,
      storage: this.storage,
      applied: this.storage.snapshot().metadata.index,
      electionTick: this.spec.electionTick ?? 10,
      heartbeatTick: this.spec.heartbeatTick ?? 1,
      preVote: this.spec.preVote ?? false,
      checkQuorum: this.spec.checkQuorum ?? false,
      maxSizePerMsg: this.spec.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: this.spec.maxInflightMsgs ?? 256,
      randomInt: (n) => rng.int(n),
    });
  }

  persist(rd: Ready): void {
    if (rd.snapshot !== null) this.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState !== null) this.storage.setHardState(rd.hardState);
  }

  /** Handles every pending Ready correctly; returns the messages to send, in order. */
  drain(): Message[] {
    const out: Message[] = [];
    while (this.raw.hasReady()) {
      const rd = this.raw.ready();
      this.persist(rd);
      out.push(...rd.messages);
      for (const e of rd.committedEntries) this.applied.push(e);
      this.raw.advance(rd);
    }
    return out;
  }

  step(m: Message): Message[] {
    this.raw.step(m);
    return this.drain();
  }

  logTerms(): number[] {
    const out: number[] = [];
    for (let i = this.storage.firstIndex(); i <= this.storage.lastIndex(); i++) out.push(this.storage.term(i));
    return out;
  }
}

/** Delivers messages among `nodes` until none are left; `filter` may drop some. Returns all delivered messages. */
export function pump(nodes: TestNode[], msgs: Message[], filter: (m: Message) => boolean = () => true): Message[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const delivered: Message[] = [];
  let queue = msgs;
  let guard = 0;
  while (queue.length > 0) {
    const next: Message[] = [];
    for (const m of queue) {
      if (++guard > 100_000) throw new Error('pump: livelock');
      const to = byId.get(m.to);
      if (to === undefined || !filter(m)) continue;
      delivered.push(m);
      next.push(...to.step(m));
    }
    queue = next;
  }
  return delivered;
}

export function ofType<T extends Message['type']>(msgs: readonly Message[], type: T): Extract<Message, { type: T }>[] {
  return msgs.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}
