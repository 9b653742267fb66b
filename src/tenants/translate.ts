// Request and response translation at the edge, over the decoded wire messages: requests go in
// (virtual → internal), responses come out (internal → virtual). Pure functions; inputs are never
// mutated (a watch event may be shared by many watchers), outputs are fresh objects.
//
// The rules are KeyMapper's (keymap.ts), plus three that come from etcd's request semantics:
// 1. An EMPTY key in a range, delete, put or compare is etcd's "key is not provided", whatever the
//    range end. The translation keeps the key empty and clears the range end, so the caller's
//    usual validation (mvcc's validate*) answers exactly what etcd answers, and the request names
//    nothing outside the tenant even if that validation were skipped.
// 2. A watch's empty key means "\0" (etcd's v3rpc watch.go: the smallest key), so it is read as
//    the virtual key "\0" and translated like any other key.
// 3. A response key outside the tenant is a bug (the request's range was inside): toExternal
//    throws OUTSIDE_TENANT and the response is not sent. The one exception is the key list of
//    LeaseTimeToLive: a cluster administrator may attach any key to a tenant's lease, so keys
//    outside the tenant are left out (redacted, GUARANTEES A6), not treated as a bug.
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchEvent,
  WatchResponse,
} from '../wire/index.js';
import type { KeyMapper, KeyRange } from './keymap.js';

const EMPTY = new Uint8Array(0);
const WATCH_EMPTY_KEY = Uint8Array.of(0);

/** Rule 1: an empty key stays empty (and names nothing); otherwise the KeyMapper's range. */
function requestRange(m: KeyMapper, key: Uint8Array, rangeEnd: Uint8Array): KeyRange {
  if (key.length === 0) return { key: EMPTY, rangeEnd: EMPTY };
  return m.rangeToInternal(key, rangeEnd);
}

// ---- requests: virtual → internal ------------------------------------------------------------

export function rangeRequestToInternal(m: KeyMapper, req: RangeRequest): RangeRequest {
  return { ...req, ...requestRange(m, req.key, req.rangeEnd) };
}

export function putRequestToInternal(m: KeyMapper, req: PutRequest): PutRequest {
  return { ...req, key: req.key.length === 0 ? EMPTY : m.toInternal(req.key) };
}

export function deleteRangeRequestToInternal(m: KeyMapper, req: DeleteRangeRequest): DeleteRangeRequest {
  return { ...req, ...requestRange(m, req.key, req.rangeEnd) };
}

export function compareToInternal(m: KeyMapper, c: Compare): Compare {
  // The operand (a value, a lease ID, revisions) is not a key: copied as is.
  return { ...c, ...requestRange(m, c.key, c.rangeEnd) };
}

export function requestOpToInternal(m: KeyMapper, op: RequestOp): RequestOp {
  switch (op.type) {
    case 'range':
      return { type: 'range', range: rangeRequestToInternal(m, op.range) };
    case 'put':
      return { type: 'put', put: putRequestToInternal(m, op.put) };
    case 'deleteRange':
      return { type: 'deleteRange', deleteRange: deleteRangeRequestToInternal(m, op.deleteRange) };
    case 'txn':
      return { type: 'txn', txn: txnRequestToInternal(m, op.txn) };
    case 'none':
      return { type: 'none' };
    default: {
      const never: never = op;
      throw new TypeError(`tenants: unknown request op ${JSON.stringify((never as { type: unknown }).type)}`);
    }
  }
}

/** Compares and both branches, nested txns to full depth. */
export function txnRequestToInternal(m: KeyMapper, req: TxnRequest): TxnRequest {
  return {
    compare: req.compare.map((c) => compareToInternal(m, c)),
    success: req.success.map((op) => requestOpToInternal(m, op)),
    failure: req.failure.map((op) => requestOpToInternal(m, op)),
  };
}

/** Rule 2: the empty key of a watch is "\0". */
export function watchCreateToInternal(m: KeyMapper, req: WatchCreateRequest): WatchCreateRequest {
  const key = req.key.length === 0 ? WATCH_EMPTY_KEY : req.key;
  return { ...req, filters: [...req.filters], ...m.rangeToInternal(key, req.rangeEnd) };
}

// ---- responses: internal → virtual -----------------------------------------------------------

export function keyValueToExternal(m: KeyMapper, kv: KeyValue): KeyValue {
  return { ...kv, key: m.toExternal(kv.key) };
}

const kvOut = (m: KeyMapper, kv: KeyValue | undefined): KeyValue | undefined => (kv === undefined ? undefined : keyValueToExternal(m, kv));

export function rangeResponseToExternal(m: KeyMapper, res: RangeResponse): RangeResponse {
  return { ...res, kvs: res.kvs.map((kv) => keyValueToExternal(m, kv)) };
}

export function putResponseToExternal(m: KeyMapper, res: PutResponse): PutResponse {
  return { ...res, prevKv: kvOut(m, res.prevKv) };
}

export function deleteRangeResponseToExternal(m: KeyMapper, res: DeleteRangeResponse): DeleteRangeResponse {
  return { ...res, prevKvs: res.prevKvs.map((kv) => keyValueToExternal(m, kv)) };
}

export function responseOpToExternal(m: KeyMapper, op: ResponseOp): ResponseOp {
  switch (op.type) {
    case 'range':
      return { type: 'range', range: rangeResponseToExternal(m, op.range) };
    case 'put':
      return { type: 'put', put: putResponseToExternal(m, op.put) };
    case 'deleteRange':
      return { type: 'deleteRange', deleteRange: deleteRangeResponseToExternal(m, op.deleteRange) };
    case 'txn':
      return { type: 'txn', txn: txnResponseToExternal(m, op.txn) };
    default: {
      const never: never = op;
      throw new TypeError(`tenants: unknown response op ${JSON.stringify((never as { type: unknown }).type)}`);
    }
  }
}

export function txnResponseToExternal(m: KeyMapper, res: TxnResponse): TxnResponse {
  return { ...res, responses: res.responses.map((op) => responseOpToExternal(m, op)) };
}

export function watchEventToExternal(m: KeyMapper, ev: WatchEvent): WatchEvent {
  return { type: ev.type, kv: kvOut(m, ev.kv), prevKv: kvOut(m, ev.prevKv) };
}

/** Events (kv and prev_kv) translated; the rest (ids, revisions, cancel reason) copied. */
export function watchResponseToExternal(m: KeyMapper, res: WatchResponse): WatchResponse {
  return { ...res, events: res.events.map((ev) => watchEventToExternal(m, ev)) };
}

/** Rule 3: keys outside the tenant are left out; the rest translated. */
export function leaseTimeToLiveResponseToExternal(m: KeyMapper, res: LeaseTimeToLiveResponse): LeaseTimeToLiveResponse {
  return { ...res, keys: res.keys.filter((k) => m.contains(k)).map((k) => m.toExternal(k)) };
}
