import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../wire/index.js';
import type { WriteRequest } from '../mvcc/index.js';

// etcd limits the *marshalled Raft proposal* (protobuf InternalRaftRequest) to --max-request-bytes,
// not the JSON body: a 3-byte key may carry a value of 1,572,838 bytes under the 1.5 MiB default.
// Computing the protobuf size of the request keeps that boundary exactly where etcd users expect
// it, whatever encoding Keyward itself uses for its log entries.

function varintLen(n: number | bigint): number {
  let v = BigInt(n);
  if (v < 0n) return 10; // negative int64 varints always take ten bytes
  let len = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    len++;
  }
  return len;
}

const bytesField = (len: number, tagLen = 1): number => (len === 0 ? 0 : tagLen + varintLen(len) + len);
const intField = (n: number | bigint): number => (n === 0 || n === 0n ? 0 : 1 + varintLen(n));
const boolField = (b: boolean): number => (b ? 2 : 0);
const messageField = (size: number, tagLen = 1): number => tagLen + varintLen(size) + size;

function rangeSize(r: RangeRequest): number {
  return (
    bytesField(r.key.length) + bytesField(r.rangeEnd.length) + intField(r.limit) + intField(r.revision) +
    intField(r.sortOrder) + intField(r.sortTarget) + boolField(r.serializable) + boolField(r.keysOnly) +
    boolField(r.countOnly) + intField(r.minModRevision) + intField(r.maxModRevision) +
    intField(r.minCreateRevision) + intField(r.maxCreateRevision)
  );
}

function putSize(p: PutRequest): number {
  return (
    bytesField(p.key.length) + bytesField(p.value.length) + intField(p.lease) + boolField(p.prevKv) +
    boolField(p.ignoreValue) + boolField(p.ignoreLease)
  );
}

function deleteRangeSize(d: DeleteRangeRequest): number {
  return bytesField(d.key.length) + bytesField(d.rangeEnd.length) + boolField(d.prevKv);
}

function compareSize(c: Compare): number {
  const o = c.operand;
  let operand = 0;
  switch (o.kind) {
    case 'none': break;
    case 'version': operand = intField(o.version); break;
    case 'createRevision': operand = intField(o.createRevision); break;
    case 'modRevision': operand = intField(o.modRevision); break;
    case 'value': operand = bytesField(o.value.length); break;
    case 'lease': operand = intField(o.lease); break;
  }
  return intField(c.result) + intField(c.target) + bytesField(c.key.length) + operand + bytesField(c.rangeEnd.length, 2);
}

function opSize(op: RequestOp): number {
  switch (op.type) {
    case 'range': return messageField(rangeSize(op.range));
    case 'put': return messageField(putSize(op.put));
    case 'deleteRange': return messageField(deleteRangeSize(op.deleteRange));
    case 'txn': return messageField(txnSize(op.txn));
    case 'none': return 0;
  }
}

function txnSize(t: TxnRequest): number {
  let size = 0;
  for (const c of t.compare) size += messageField(compareSize(c));
  for (const op of t.success) size += messageField(opSize(op));
  for (const op of t.failure) size += messageField(opSize(op));
  return size;
}

/**
 * Size etcd would count for this request as a Raft proposal. etcd's request header carries a
 * generated 63-bit ID (a 9-byte varint), which is what makes a 3-byte key's largest value exactly
 * 1,572,838 bytes under the default limit.
 */
export function proposalSize(req: WriteRequest): number {
  const header = messageField(1 + 9, 2);
  switch (req.type) {
    case 'put': return header + messageField(putSize(req.put));
    case 'deleteRange': return header + messageField(deleteRangeSize(req.deleteRange));
    case 'txn': return header + messageField(txnSize(req.txn));
    case 'compaction':
      return header + messageField(intField(req.compaction.revision) + boolField(req.compaction.physical));
  }
}
