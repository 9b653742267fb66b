// Binary encoding of a ConfChange inside a 'confChange' entry. Raft owns this
// format because it must decode proposals to enforce the one-pending-change
// rule, and every replica must decode committed entries identically.
//
// Layout (big-endian): [0] version = 1, [1] type (0 addNode, 1 addLearnerNode,
// 2 removeNode), [2..10) nodeId as u64, [10..) context bytes.

import type { ConfChange, ConfChangeType } from './types.js';

const VERSION = 1;
const TYPE_CODES: Readonly<Record<ConfChangeType, number>> = { addNode: 0, addLearnerNode: 1, removeNode: 2 };
const CODE_TYPES: readonly ConfChangeType[] = ['addNode', 'addLearnerNode', 'removeNode'];
const MAX_U64 = (1n << 64n) - 1n;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (cc.nodeId <= 0n || cc.nodeId > MAX_U64) throw new TypeError(`raft: conf change node id out of range: ${cc.nodeId}`);
  const out = new Uint8Array(10 + cc.context.byteLength);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = TYPE_CODES[cc.type];
  dv.setBigUint64(2, cc.nodeId);
  out.set(cc.context, 10);
  return out;
}

/** Throws Error on malformed data: a committed entry that does not decode is corruption, not input. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < 10 || data[0] !== VERSION) throw new Error('raft: malformed conf change entry');
  const type = CODE_TYPES[data[1]!];
  if (type === undefined) throw new Error(`raft: unknown conf change type ${data[1]}`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { type, nodeId: dv.getBigUint64(2), context: data.slice(10) };
}
