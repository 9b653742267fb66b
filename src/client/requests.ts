import type { DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from '../wire/index.js';

// Builders that fill every omitted field with its proto default, so callers name only what they
// mean, as with etcd's client options.

/** T with every field optional except K. */
export type Partial1<T, K extends keyof T> = Partial<T> & Pick<T, K>;

const EMPTY = new Uint8Array(0);

export function rangeRequest(r: Partial1<RangeRequest, 'key'>): RangeRequest {
  return {
    key: r.key,
    rangeEnd: r.rangeEnd ?? EMPTY,
    limit: r.limit ?? 0,
    revision: r.revision ?? 0,
    sortOrder: r.sortOrder ?? 0,
    sortTarget: r.sortTarget ?? 0,
    serializable: r.serializable ?? false,
    keysOnly: r.keysOnly ?? false,
    countOnly: r.countOnly ?? false,
    minModRevision: r.minModRevision ?? 0,
    maxModRevision: r.maxModRevision ?? 0,
    minCreateRevision: r.minCreateRevision ?? 0,
    maxCreateRevision: r.maxCreateRevision ?? 0,
  };
}

export function putRequest(r: Partial1<PutRequest, 'key'>): PutRequest {
  return {
    key: r.key,
    value: r.value ?? EMPTY,
    lease: r.lease ?? 0n,
    prevKv: r.prevKv ?? false,
    ignoreValue: r.ignoreValue ?? false,
    ignoreLease: r.ignoreLease ?? false,
  };
}

export function deleteRangeRequest(r: Partial1<DeleteRangeRequest, 'key'>): DeleteRangeRequest {
  return { key: r.key, rangeEnd: r.rangeEnd ?? EMPTY, prevKv: r.prevKv ?? false };
}

export function txnRequest(r: Partial<TxnRequest>): TxnRequest {
  return { compare: r.compare ?? [], success: r.success ?? [], failure: r.failure ?? [] };
}
