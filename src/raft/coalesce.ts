// Merging a Ready's outgoing messages, per destination, before the driver sends them.
//
// Why: raft sends every follower an append for each proposal the leader takes (bcastAppend per
// MsgProp) and an empty one each time the commit index moves. Under load one Ready held ~17
// appends per follower, each encoded, framed, decoded, stepped and acknowledged on its own — the
// followers answered with as many acknowledgements and forwarded proposals one by one. Merging
// them gives each peer one message per Ready of each kind, which is what the receiving side would
// make of the sequence anyway.
//
// Only a message directly after another to the SAME peer merges into it, so the order of
// everything each peer receives is kept. What merges:
//  - app after app of the same term, when the second continues the first (its (index, logTerm) is
//    the first's last entry): entries concatenated while they fit maxSize, commit the larger. A
//    follower never commits past the last entry a message gave it (min(commit, last new index)),
//    so carrying the later commit index on the merged message is what the second message did.
//  - appResp after appResp of the same term, both accepts, the second not lower: "my log matches
//    up to index" for the higher index implies the lower one, and the leader's progress only moves
//    forward. Rejections are never merged (each carries its own hint).
//  - prop after prop: a forwarded proposal's entries concatenated while they fit maxSize; the
//    leader appends them in the same order either way.

import type { Message, MsgApp, MsgAppResp, MsgProp } from './messages.js';
import type { Entry, NodeId } from './types.js';
import { entriesSize } from './util.js';

/** A merged message under construction: its slot in the output and the parts that grow. */
interface Open {
  slot: number;
  entries: Entry[] | null;
  size: number;
}

export function coalesceMessages(msgs: Message[], maxSize: number): Message[] {
  if (msgs.length < 2) return msgs;
  const out: Message[] = [];
  // Per peer: the slot of the last message to it, and its merge state when it is mergeable.
  const last = new Map<NodeId, Open>();
  for (const m of msgs) {
    const prev = last.get(m.to);
    if (prev !== undefined && merge(out, prev, m, maxSize)) continue;
    const slot = out.length;
    out.push(m);
    last.set(m.to, { slot, entries: null, size: -1 });
  }
  return out.length === msgs.length ? msgs : out;
}

/** Folds `m` into the message at `open.slot` when the rules above allow; true if it did. */
function merge(out: Message[], open: Open, m: Message, maxSize: number): boolean {
  const p = out[open.slot]!;
  if (p.type !== m.type) return false;
  switch (m.type) {
    case 'app': {
      const a = p as MsgApp;
      if (a.term !== m.term || m.index !== a.index + a.entries.length || m.logTerm !== lastTerm(a)) return false;
      if (m.entries.length === 0) {
        if (m.commit > a.commit) out[open.slot] = { ...a, commit: m.commit };
        return true;
      }
      const entries = grow(open, a.entries, m.entries, maxSize);
      if (entries === null) return false;
      out[open.slot] = { ...a, entries, commit: Math.max(a.commit, m.commit) };
      return true;
    }
    case 'appResp': {
      const r = p as MsgAppResp;
      if (r.reject || m.reject || r.term !== m.term || m.index < r.index) return false;
      out[open.slot] = m;
      return true;
    }
    case 'prop': {
      const entries = grow(open, (p as MsgProp).entries, m.entries, maxSize);
      if (entries === null) return false;
      out[open.slot] = { ...(p as MsgProp), entries };
      return true;
    }
    default:
      return false;
  }
}

/**
 * The merged entry list, or null when `more` would take it past maxSize. The list is copied once,
 * on the first merge, and then grown in place (it belongs to the merged message only).
 */
function grow(open: Open, have: readonly Entry[], more: readonly Entry[], maxSize: number): Entry[] | null {
  if (open.size < 0) open.size = entriesSize(have);
  const moreSize = entriesSize(more);
  if (open.size + moreSize > maxSize) return null;
  open.entries ??= have.slice();
  for (const e of more) open.entries.push(e);
  open.size += moreSize;
  return open.entries;
}

function lastTerm(m: MsgApp): number {
  return m.entries.length > 0 ? m.entries[m.entries.length - 1]!.term : m.logTerm;
}
