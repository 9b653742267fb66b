// The lease API (etcdserverpb.Lease: /v3/lease/*) as field tables, like codec.ts and cluster.ts.
// Both directions exist for every message, so the server and the TypeScript client read and write
// them with the same tables. Field order is the proto field-number order of etcd 3.4's rpc.proto.
//
// The proto names are `ID`, `TTL`, `grantedTTL`, `keys`, `leases`; lowerCamelCase leaves them
// unchanged, so each has one accepted spelling (API.md section 2: `"ttl"` is an unknown field).
// Lease IDs are signed 64-bit values held as bigint (API.md section 14: etcd hands out IDs above
// 2^53 and clients may choose their own, negative ones included).

import { ResponseHeaderCodec } from './codec.js';
import { DecodeError } from './decode-error.js';
import { isJsonObject, type JsonObject } from './json.js';
import type { Bytes, ResponseHeader } from './messages.js';
import { bool, bytes, int64, int64Big, message, repeated, string } from './schema.js';

// ---------------------------------------------------------------------------------------------
// Decoded forms. As in messages.ts, every field is present after decoding, holding its proto
// default when the JSON left it out.

export interface LeaseGrantRequest {
  /**
   * Seconds. A bigint, so that a TTL beyond 2^53 is answered as etcd answers it ("too large lease
   * TTL", 400/11) rather than refused by the decoder. Below the minimum it is raised to it.
   */
  ttl: bigint;
  /** 0 = the server picks a positive 63-bit ID. */
  id: bigint;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  id: bigint;
  /** The TTL granted, after raising it to the minimum. */
  ttl: number;
  /** Never set by etcd 3.4's gateway (errors come as the error envelope); kept for the proto. */
  error: string;
}

export interface LeaseRevokeRequest {
  id: bigint;
}

export interface LeaseRevokeResponse {
  header: ResponseHeader;
}

export interface LeaseKeepAliveRequest {
  id: bigint;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  id: bigint;
  /** The granted TTL the lease was renewed to; 0 when the lease does not exist (expired or revoked). */
  ttl: number;
}

export interface LeaseTimeToLiveRequest {
  id: bigint;
  keys: boolean;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  id: bigint;
  /** Remaining seconds (truncated); -1 when the lease does not exist. */
  ttl: number;
  grantedTtl: number;
  /** Only when asked for; order not guaranteed (etcd's is a map's). */
  keys: Bytes[];
}

export type LeaseLeasesRequest = Record<string, never>;

export interface LeaseStatus {
  id: bigint;
}

export interface LeaseLeasesResponse {
  header: ResponseHeader;
  leases: LeaseStatus[];
}

/** The HTTP paths of the lease RPCs, as etcd 3.4's gateway binds them (rpc.proto annotations). */
export const LeasePath = {
  GRANT: '/v3/lease/grant',
  REVOKE: '/v3/lease/revoke',
  KEEP_ALIVE: '/v3/lease/keepalive',
  TIME_TO_LIVE: '/v3/lease/timetolive',
  LEASES: '/v3/lease/leases',
} as const;
export type LeasePath = (typeof LeasePath)[keyof typeof LeasePath];

/** Older paths etcd 3.4 still binds for three of them (additional_bindings in rpc.proto). */
export const LeasePathAlias = {
  REVOKE: '/v3/kv/lease/revoke',
  TIME_TO_LIVE: '/v3/kv/lease/timetolive',
  LEASES: '/v3/kv/lease/leases',
} as const;

/** etcd's MaxLeaseTTL (lease/lessor.go): 9,000,000,000 seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

// ---------------------------------------------------------------------------------------------
// Tables

export const LeaseGrantRequestCodec = message<LeaseGrantRequest>('etcdserverpb.LeaseGrantRequest', {
  ttl: ['TTL', int64Big],
  id: ['ID', int64Big],
});

export const LeaseGrantResponseCodec = message<LeaseGrantResponse>('etcdserverpb.LeaseGrantResponse', {
  header: ['header', ResponseHeaderCodec],
  id: ['ID', int64Big],
  ttl: ['TTL', int64],
  error: ['error', string],
});

export const LeaseRevokeRequestCodec = message<LeaseRevokeRequest>('etcdserverpb.LeaseRevokeRequest', {
  id: ['ID', int64Big],
});

export const LeaseRevokeResponseCodec = message<LeaseRevokeResponse>('etcdserverpb.LeaseRevokeResponse', {
  header: ['header', ResponseHeaderCodec],
});

export const LeaseKeepAliveRequestCodec = message<LeaseKeepAliveRequest>('etcdserverpb.LeaseKeepAliveRequest', {
  id: ['ID', int64Big],
});

export const LeaseKeepAliveResponseCodec = message<LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse', {
  header: ['header', ResponseHeaderCodec],
  id: ['ID', int64Big],
  ttl: ['TTL', int64],
});

export const LeaseTimeToLiveRequestCodec = message<LeaseTimeToLiveRequest>('etcdserverpb.LeaseTimeToLiveRequest', {
  id: ['ID', int64Big],
  keys: ['keys', bool],
});

export const LeaseTimeToLiveResponseCodec = message<LeaseTimeToLiveResponse>('etcdserverpb.LeaseTimeToLiveResponse', {
  header: ['header', ResponseHeaderCodec],
  id: ['ID', int64Big],
  ttl: ['TTL', int64],
  grantedTtl: ['grantedTTL', int64],
  keys: ['keys', repeated(bytes)],
});

export const LeaseLeasesRequestCodec = message<LeaseLeasesRequest>('etcdserverpb.LeaseLeasesRequest', {});

export const LeaseStatusCodec = message<LeaseStatus>('etcdserverpb.LeaseStatus', {
  id: ['ID', int64Big],
});

export const LeaseLeasesResponseCodec = message<LeaseLeasesResponse>('etcdserverpb.LeaseLeasesResponse', {
  header: ['header', ResponseHeaderCodec],
  leases: ['leases', repeated(LeaseStatusCodec)],
});

// ---------------------------------------------------------------------------------------------
// The keep-alive stream: one request object per message in, one line per answer out. A line is
// `{"result":LeaseKeepAliveResponse}`, or, when the stream fails after it started, grpc-gateway
// v1's error chunk `{"error":{"grpc_code":N,"http_code":N,"message":"…","http_status":"…"}}`.

export interface LeaseStreamError {
  grpcCode: number;
  httpCode: number;
  message: string;
  httpStatus: string;
}

export type LeaseKeepAliveLine = { type: 'result'; result: LeaseKeepAliveResponse } | { type: 'error'; error: LeaseStreamError };

// ---------------------------------------------------------------------------------------------
// Server side: requests in (from parseJsonBody), responses out.

export function decodeLeaseGrantRequest(json: unknown): LeaseGrantRequest {
  return LeaseGrantRequestCodec.decode(json);
}
export function decodeLeaseRevokeRequest(json: unknown): LeaseRevokeRequest {
  return LeaseRevokeRequestCodec.decode(json);
}
export function decodeLeaseKeepAliveRequest(json: unknown): LeaseKeepAliveRequest {
  return LeaseKeepAliveRequestCodec.decode(json);
}
export function decodeLeaseTimeToLiveRequest(json: unknown): LeaseTimeToLiveRequest {
  return LeaseTimeToLiveRequestCodec.decode(json);
}
export function decodeLeaseLeasesRequest(json: unknown): LeaseLeasesRequest {
  return LeaseLeasesRequestCodec.decode(json);
}

export function encodeLeaseGrantResponseText(res: LeaseGrantResponse): string {
  return LeaseGrantResponseCodec.write(res);
}
export function encodeLeaseRevokeResponseText(res: LeaseRevokeResponse): string {
  return LeaseRevokeResponseCodec.write(res);
}
export function encodeLeaseTimeToLiveResponseText(res: LeaseTimeToLiveResponse): string {
  return LeaseTimeToLiveResponseCodec.write(res);
}
export function encodeLeaseLeasesResponseText(res: LeaseLeasesResponse): string {
  return LeaseLeasesResponseCodec.write(res);
}
/** `{"result":…}`: one line of the keep-alive stream, without the newline. */
export function encodeLeaseKeepAliveResultText(res: LeaseKeepAliveResponse): string {
  return `{"result":${LeaseKeepAliveResponseCodec.write(res)}}`;
}
/** grpc-gateway's error chunk, for a stream that fails after it started. */
export function encodeLeaseStreamErrorText(e: LeaseStreamError): string {
  return JSON.stringify({ error: { grpc_code: e.grpcCode, http_code: e.httpCode, message: e.message, http_status: e.httpStatus } });
}

export function encodeLeaseGrantResponse(res: LeaseGrantResponse): JsonObject {
  return LeaseGrantResponseCodec.encode(res);
}
export function encodeLeaseRevokeResponse(res: LeaseRevokeResponse): JsonObject {
  return LeaseRevokeResponseCodec.encode(res);
}
export function encodeLeaseKeepAliveResponse(res: LeaseKeepAliveResponse): JsonObject {
  return LeaseKeepAliveResponseCodec.encode(res);
}
export function encodeLeaseTimeToLiveResponse(res: LeaseTimeToLiveResponse): JsonObject {
  return LeaseTimeToLiveResponseCodec.encode(res);
}
export function encodeLeaseLeasesResponse(res: LeaseLeasesResponse): JsonObject {
  return LeaseLeasesResponseCodec.encode(res);
}

// ---------------------------------------------------------------------------------------------
// Client side: requests out, responses in.

export function encodeLeaseGrantRequest(req: LeaseGrantRequest): JsonObject {
  return LeaseGrantRequestCodec.encode(req);
}
export function encodeLeaseRevokeRequest(req: LeaseRevokeRequest): JsonObject {
  return LeaseRevokeRequestCodec.encode(req);
}
export function encodeLeaseKeepAliveRequest(req: LeaseKeepAliveRequest): JsonObject {
  return LeaseKeepAliveRequestCodec.encode(req);
}
export function encodeLeaseTimeToLiveRequest(req: LeaseTimeToLiveRequest): JsonObject {
  return LeaseTimeToLiveRequestCodec.encode(req);
}
export function encodeLeaseLeasesRequest(req: LeaseLeasesRequest): JsonObject {
  return LeaseLeasesRequestCodec.encode(req);
}

export function decodeLeaseGrantResponse(json: unknown): LeaseGrantResponse {
  return LeaseGrantResponseCodec.decode(json);
}
export function decodeLeaseRevokeResponse(json: unknown): LeaseRevokeResponse {
  return LeaseRevokeResponseCodec.decode(json);
}
export function decodeLeaseKeepAliveResponse(json: unknown): LeaseKeepAliveResponse {
  return LeaseKeepAliveResponseCodec.decode(json);
}
export function decodeLeaseTimeToLiveResponse(json: unknown): LeaseTimeToLiveResponse {
  return LeaseTimeToLiveResponseCodec.decode(json);
}
export function decodeLeaseLeasesResponse(json: unknown): LeaseLeasesResponse {
  return LeaseLeasesResponseCodec.decode(json);
}

/** Reads one keep-alive stream line: `{"result":…}` or grpc-gateway's `{"error":{…}}` chunk. */
export function decodeLeaseKeepAliveLine(json: unknown): LeaseKeepAliveLine {
  if (isJsonObject(json) && Object.hasOwn(json, 'result')) {
    return { type: 'result', result: LeaseKeepAliveResponseCodec.decode(json['result']) };
  }
  const e = isJsonObject(json) && Object.hasOwn(json, 'error') ? json['error'] : undefined;
  if (isJsonObject(e)) {
    const grpcCode = e['grpc_code'];
    const msg = e['message'];
    if (typeof grpcCode === 'number' && Number.isInteger(grpcCode) && typeof msg === 'string') {
      const httpCode = typeof e['http_code'] === 'number' ? e['http_code'] : 0;
      const httpStatus = typeof e['http_status'] === 'string' ? e['http_status'] : '';
      return { type: 'error', error: { grpcCode, httpCode, message: msg, httpStatus } };
    }
  }
  throw new DecodeError('SHAPE', 'keyward: a keep-alive stream line is neither {"result":…} nor {"error":{…}}');
}
