// The KV RPCs (range, put, deleterange, txn) with the tenant translation at the edge: for a tenant
// principal every key of the request goes in through its KeyMapper and every key of the answer
// (kvs, prev_kv, prev_kvs, nested txn responses) comes out through it (src/tenants' translators).
// `server` only ever sees internal keys. Cluster principals take the untranslated path.
//
// A translation that refuses (TenantError OUTSIDE_TENANT) is a bug below the edge: the error
// propagates, is answered 403 / code 7 and is logged (api/errors.ts); nothing is sent on.
import type { IncomingMessage } from 'node:http';
import {
  deleteRangeRequestToInternal,
  deleteRangeResponseToExternal,
  leaseTimeToLiveResponseToExternal,
  putRequestToInternal,
  putResponseToExternal,
  rangeRequestToInternal,
  rangeResponseToExternal,
  txnRequestToInternal,
  txnResponseToExternal,
  type KeywardServer,
  type RequestAuth,
} from '../server/index.js';
import {
  decodeDeleteRangeRequest,
  decodeLeaseTimeToLiveResponse,
  decodePutRequest,
  decodeRangeRequest,
  decodeTxnRequest,
  encodeDeleteRangeResponseText,
  encodeLeaseTimeToLiveResponseText,
  encodePutResponseText,
  encodeRangeResponseText,
  encodeTxnResponseText,
} from '../wire/index.js';
import type { TenantEdge } from './tenant-edge.js';

type Rpc = (body: unknown, req: IncomingMessage, auth: RequestAuth) => Promise<string>;

export function kvRpcs(server: KeywardServer, edge: TenantEdge): Record<string, Rpc> {
  return {
    '/kv/range': async (b, _r, a) => {
      const req = decodeRangeRequest(b);
      const m = edge.mapper(a);
      if (m === undefined) return encodeRangeResponseText(await server.range(req, a));
      return encodeRangeResponseText(rangeResponseToExternal(m, await server.range(rangeRequestToInternal(m, req), a)));
    },
    '/kv/put': async (b, _r, a) => {
      const req = decodePutRequest(b);
      const m = edge.mapper(a);
      if (m === undefined) return encodePutResponseText(await server.put(req, a));
      return encodePutResponseText(putResponseToExternal(m, await server.put(putRequestToInternal(m, req), a)));
    },
    '/kv/deleterange': async (b, _r, a) => {
      const req = decodeDeleteRangeRequest(b);
      const m = edge.mapper(a);
      if (m === undefined) return encodeDeleteRangeResponseText(await server.deleteRange(req, a));
      return encodeDeleteRangeResponseText(deleteRangeResponseToExternal(m, await server.deleteRange(deleteRangeRequestToInternal(m, req), a)));
    },
    '/kv/txn': async (b, _r, a) => {
      const req = decodeTxnRequest(b);
      const m = edge.mapper(a);
      if (m === undefined) return encodeTxnResponseText(await server.txn(req, a));
      return encodeTxnResponseText(txnResponseToExternal(m, await server.txn(txnRequestToInternal(m, req), a)));
    },
  };
}

/**
 * LeaseTimeToLive's attached keys, translated for a tenant principal. The lease handlers answer
 * encoded text (lease-http.ts, where the leader is asked); for a tenant principal that text is read
 * back, its keys translated (keys outside the tenant left out: an administrator may attach any key
 * to a tenant's lease, A6) and written again. Cluster principals' answers are passed on as they are.
 */
export function tenantTimeToLive(edge: TenantEdge, rpc: Rpc): Rpc {
  return async (b, r, a) => {
    const text = await rpc(b, r, a);
    const m = edge.mapper(a);
    if (m === undefined) return text;
    return encodeLeaseTimeToLiveResponseText(leaseTimeToLiveResponseToExternal(m, decodeLeaseTimeToLiveResponse(JSON.parse(text))));
  };
}
