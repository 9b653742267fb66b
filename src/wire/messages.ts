// The decoded form of etcd's v3 KV messages (etcdserverpb / mvccpb), shared by client and server.
//
// Representation rules, chosen once here so every layer agrees:
// - `bytes` fields are Uint8Array (empty array = proto default).
// - Revisions, versions and counts are JS numbers. They fit: the codec rejects any input beyond
//   Number.MAX_SAFE_INTEGER rather than round it (API.md section 14).
// - Lease IDs, cluster and member IDs are bigint: they are full 64-bit values and must stay exact.
// - Every field is present after decoding, holding the proto default when the JSON omitted it, so
//   consumers never test for `undefined`. Optional sub-messages are `undefined` when absent.

export type Bytes = Uint8Array;

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: number;
}

export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Bytes;
  lease: bigint;
}

export interface RangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  limit: number;
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  lease: bigint;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv: KeyValue | undefined;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  prevKv: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

/**
 * A txn compare. The operand is a proto `oneof`; `operand` records which member the request set,
 * because etcd compares against the zero of the *target* when the operand names another field.
 */
export interface Compare {
  key: Bytes;
  rangeEnd: Bytes;
  target: CompareTarget;
  result: CompareResult;
  operand: CompareOperand;
}

export type CompareOperand =
  | { kind: 'none' }
  | { kind: 'version'; version: number }
  | { kind: 'createRevision'; createRevision: number }
  | { kind: 'modRevision'; modRevision: number }
  | { kind: 'value'; value: Bytes }
  | { kind: 'lease'; lease: bigint };

/** A txn operation. `none` is the empty RequestOp `{}`, which etcd rejects ("key not found"). */
export type RequestOp =
  | { type: 'range'; range: RangeRequest }
  | { type: 'put'; put: PutRequest }
  | { type: 'deleteRange'; deleteRange: DeleteRangeRequest }
  | { type: 'txn'; txn: TxnRequest }
  | { type: 'none' };

export type ResponseOp =
  | { type: 'range'; range: RangeResponse }
  | { type: 'put'; put: PutResponse }
  | { type: 'deleteRange'; deleteRange: DeleteRangeResponse }
  | { type: 'txn'; txn: TxnResponse };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  physical: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: number;
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSizeInUse: number;
  errors: string[];
  isLearner: boolean;
}

export interface VersionResponse {
  etcdserver: string;
  etcdcluster: string;
}
