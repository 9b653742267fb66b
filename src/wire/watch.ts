// The watch API (etcdserverpb.Watch: /v3/watch) as field tables, like codec.ts and cluster.ts.
// Both directions exist for every message, so the server and the TypeScript client read and write
// them with the same tables. Field order is the proto field-number order of etcd 3.4's rpc.proto
// and kv.proto (mvccpb.Event), which is the order etcd emits.
//
// The stream carries one JSON object per request and one `{"result":WatchResponse}` per response
// (API.md section 6). Fan-out writes responses with the events already encoded: each event is
// turned into JSON text once and the text is shared by every watcher that receives it
// (WatchResponseTextCodec below).

import { KeyValueCodec, ResponseHeaderCodec } from './codec.js';
import { DecodeError } from './decode-error.js';
import { isJsonObject, type JsonObject } from './json.js';
import type { Bytes, KeyValue, ResponseHeader } from './messages.js';
import { bool, bytes, enumeration, int64, message, optional, repeated, string, transform, type Codec, type MessageFields } from './schema.js';

// ---------------------------------------------------------------------------------------------
// Decoded forms. As in messages.ts, every field is present after decoding, holding its proto
// default when the JSON left it out.

export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const WatchFilterType = { NOPUT: 0, NODELETE: 1 } as const;
export type WatchFilterType = (typeof WatchFilterType)[keyof typeof WatchFilterType];

/** mvccpb.Event. A DELETE event's `kv` holds only `key` and `mod_revision`. */
export interface WatchEvent {
  type: EventType;
  kv: KeyValue | undefined;
  prevKv: KeyValue | undefined;
}

export interface WatchCreateRequest {
  key: Bytes;
  rangeEnd: Bytes;
  /** 0 = from the next revision. */
  startRevision: number;
  progressNotify: boolean;
  filters: WatchFilterType[];
  prevKv: boolean;
  /** 0 = the server picks one. */
  watchId: number;
  fragment: boolean;
}

export interface WatchCancelRequest {
  watchId: number;
}

/**
 * A WatchRequest: a proto oneof. `none` is a request that sets no member (`{}`), which etcd
 * ignores without an answer.
 */
export type WatchRequest =
  | { type: 'create'; create: WatchCreateRequest }
  | { type: 'cancel'; cancel: WatchCancelRequest }
  | { type: 'progress' }
  | { type: 'none' };

export interface WatchResponse {
  header: ResponseHeader;
  /** -1 answers a request that concerns no single watcher (progress request, refused create). */
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  /** More responses with the same watch_id follow and belong to this one (fragmented events). */
  fragment: boolean;
  events: WatchEvent[];
}

/**
 * etcd's cancel_reason texts (mvcc/watcher.go), verbatim: clients match on them. A refused create
 * answers `watch_id` -1 with created and canceled both set.
 */
export const WatchCancelReason = {
  DUPLICATE_ID: 'mvcc: duplicate watch ID provided on the WatchStream',
  EMPTY_RANGE: 'mvcc: watcher range is empty',
  /** Newer etcd's answer to a negative start_revision (api/v3rpc/watch.go). */
  COMPACTED: 'etcdserver: mvcc: required revision has been compacted',
} as const;

/** The watch_id of a response that concerns no single watcher. */
export const INVALID_WATCH_ID = -1;

// ---------------------------------------------------------------------------------------------
// Tables

const eventType = enumeration<EventType>('mvccpb.Event_EventType', EventType);
const filterType = enumeration<WatchFilterType>('etcdserverpb.WatchCreateRequest_FilterType', WatchFilterType);

export const WatchEventCodec = message<WatchEvent>('mvccpb.Event', {
  type: ['type', eventType],
  kv: ['kv', optional(KeyValueCodec)],
  prevKv: ['prev_kv', optional(KeyValueCodec)],
});

export const WatchCreateRequestCodec = message<WatchCreateRequest>('etcdserverpb.WatchCreateRequest', {
  key: ['key', bytes],
  rangeEnd: ['range_end', bytes],
  startRevision: ['start_revision', int64],
  progressNotify: ['progress_notify', bool],
  filters: ['filters', repeated(filterType)],
  prevKv: ['prev_kv', bool],
  watchId: ['watch_id', int64],
  fragment: ['fragment', bool],
});

export const WatchCancelRequestCodec = message<WatchCancelRequest>('etcdserverpb.WatchCancelRequest', {
  watchId: ['watch_id', int64],
});

// WatchProgressRequest has no fields.
const WatchProgressRequestCodec = message<Record<string, never>>('etcdserverpb.WatchProgressRequest', {});

interface WatchRequestWire {
  createRequest: WatchCreateRequest | undefined;
  cancelRequest: WatchCancelRequest | undefined;
  progressRequest: Record<string, never> | undefined;
}

const WatchRequestWireCodec = message<WatchRequestWire>('etcdserverpb.WatchRequest', {
  createRequest: ['create_request', optional(WatchCreateRequestCodec)],
  cancelRequest: ['cancel_request', optional(WatchCancelRequestCodec)],
  progressRequest: ['progress_request', optional(WatchProgressRequestCodec)],
});

function watchRequestFromWire(w: WatchRequestWire): WatchRequest {
  const set: WatchRequest[] = [];
  if (w.createRequest !== undefined) set.push({ type: 'create', create: w.createRequest });
  if (w.cancelRequest !== undefined) set.push({ type: 'cancel', cancel: w.cancelRequest });
  if (w.progressRequest !== undefined) set.push({ type: 'progress' });
  if (set.length > 1) throw new DecodeError('ONEOF', 'keyward: a watch request sets more than one of create_request, cancel_request, progress_request');
  return set[0] ?? { type: 'none' };
}

function watchRequestToWire(r: WatchRequest): WatchRequestWire {
  return {
    createRequest: r.type === 'create' ? r.create : undefined,
    cancelRequest: r.type === 'cancel' ? r.cancel : undefined,
    progressRequest: r.type === 'progress' ? {} : undefined,
  };
}

export const WatchRequestCodec: Codec<WatchRequest> = transform(WatchRequestWireCodec, watchRequestFromWire, watchRequestToWire);

/** WatchResponse with the events field's representation left open (decoded list or encoded text). */
interface WatchResponseOf<E> {
  header: ResponseHeader;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: E;
}

function watchResponseTable<E>(events: Codec<E>): MessageFields<WatchResponseOf<E>> {
  return {
    header: ['header', ResponseHeaderCodec],
    watchId: ['watch_id', int64],
    created: ['created', bool],
    canceled: ['canceled', bool],
    compactRevision: ['compact_revision', int64],
    cancelReason: ['cancel_reason', string],
    fragment: ['fragment', bool],
    events: ['events', events],
  };
}

export const WatchResponseCodec = message<WatchResponse>('etcdserverpb.WatchResponse', watchResponseTable(repeated(WatchEventCodec)));

/**
 * `events` given as the JSON text of the list, already encoded (`[{…},{…}]`; `''` for none). Write
 * only: the fan-out path, where the list text is shared by every watcher receiving the same events.
 */
const preEncodedList: Codec<string> = {
  zero: () => '',
  isZero: (v) => v === '' || v === '[]',
  decode() {
    throw new TypeError('pre-encoded events are write-only');
  },
  encode() {
    throw new TypeError('pre-encoded events are write-only; use WatchResponseCodec');
  },
  write: (v) => v,
};

/** A WatchResponse whose `events` is the list's JSON text. See encodeWatchEventListText. */
export type WatchResponseText = WatchResponseOf<string>;

const WatchResponseTextCodec = message<WatchResponseText>('etcdserverpb.WatchResponse', watchResponseTable(preEncodedList));

// ---------------------------------------------------------------------------------------------
// Server side: requests in, responses out.

/** One request object of a watch stream (from parseJsonBody). */
export function decodeWatchRequest(json: unknown): WatchRequest {
  return WatchRequestCodec.decode(json, 1);
}

/** `{"result":…}`: one line of the HTTP stream, without the newline. */
export function encodeWatchResultText(res: WatchResponse): string {
  return `{"result":${WatchResponseCodec.write(res)}}`;
}

/** The JSON text of one event: computed once per event and form, then shared. */
export function encodeWatchEventText(ev: WatchEvent): string {
  return WatchEventCodec.write(ev);
}

/** The JSON text of an event list from the events' texts. */
export function encodeWatchEventListText(eventTexts: readonly string[]): string {
  return eventTexts.length === 0 ? '' : `[${eventTexts.join(',')}]`;
}

/** `{"result":…}` for a response whose events are pre-encoded. Equal to encodeWatchResultText of the decoded form. */
export function encodeWatchResultTextFrom(res: WatchResponseText): string {
  return `{"result":${WatchResponseTextCodec.write(res)}}`;
}

export function encodeWatchResponse(res: WatchResponse): JsonObject {
  return WatchResponseCodec.encode(res);
}

// ---------------------------------------------------------------------------------------------
// Client side: requests out, responses in.

export function encodeWatchRequest(req: WatchRequest): JsonObject {
  // A WatchRequest is a message, so its encoding is always an object.
  return WatchRequestCodec.encode(req) as JsonObject;
}

export function decodeWatchResponse(json: unknown): WatchResponse {
  return WatchResponseCodec.decode(json);
}

/** Reads one stream line's value, `{"result":WatchResponse}`. */
export function decodeWatchResult(json: unknown): WatchResponse {
  if (!isJsonObject(json) || !Object.hasOwn(json, 'result')) throw new DecodeError('SHAPE', 'keyward: a watch stream line is not {"result":…}');
  return WatchResponseCodec.decode(json['result']);
}
