// The tenants API (`/v1/tenants/*`, docs/tenancy-plan.md): Keyward's own, not etcd's, but spoken
// with the v3 API's JSON rules so that one client and one set of habits serve both: proto-style
// field names (snake_case, lowerCamelCase accepted), 64-bit numbers as decimal strings (numbers
// accepted on input), errors in etcd's envelope, and UNKNOWN FIELDS IGNORED, as grpc-gateway does
// for every v3 message (a newer client talking to an older member keeps working; a misspelt
// optional field is therefore silently absent — the answer shows the tenant as it now is).
//
// Partial quotas (create, quotas) keep presence: a field left out (or null) is "not given", which
// is different from 0 ("unlimited"). Tenant ids are validated by the server (the tenants module
// owns the rule); the codecs check types and ranges only, with the usual DecodeError messages.
import type { JsonObject } from './json.js';
import type { ResponseHeader } from './messages.js';
import { ResponseHeaderCodec } from './codec.js';
import { DecodeError } from './decode-error.js';
import { message, optional, repeated, string, uint64, type Codec } from './schema.js';

export const TenantPath = {
  CREATE: '/v1/tenants/create',
  GET: '/v1/tenants/get',
  LIST: '/v1/tenants/list',
  SUSPEND: '/v1/tenants/suspend',
  RESUME: '/v1/tenants/resume',
  DELETE: '/v1/tenants/delete',
  QUOTAS: '/v1/tenants/quotas',
} as const;
export type TenantPath = (typeof TenantPath)[keyof typeof TenantPath];

/** Every quota of a tenant; 0 = unlimited. */
export interface TenantQuotasWire {
  maxKeys: number;
  maxBytes: number;
  maxLeases: number;
  maxWatchers: number;
  maxStreams: number;
  maxRequestsPerSecond: number;
}

/** Some quotas: the fields given (an update or a create's overrides). */
export type TenantQuotasPatch = { [K in keyof TenantQuotasWire]?: number | undefined };
/** Every quota field present, undefined when not given (the codec's view of a patch). */
type PatchFields = { [K in keyof TenantQuotasWire]: number | undefined };

export interface TenantUsageWire {
  keys: number;
  bytes: number;
  leases: number;
}

export type TenantStatusWire = 'active' | 'suspended';

/**
 * The tenant's streams and watchers open on the member that answered (its edge counts, the usage of
 * maxStreams and maxWatchers; not replicated, so another member answers its own). Only `get` has it.
 */
export interface TenantOpenWire {
  /** Watch and keep-alive streams together, as maxStreams counts them. */
  streams: number;
  watchers: number;
  /** The member counting, in hexadecimal as etcdctl shows member IDs. */
  member: string;
}

export interface TenantInfoWire {
  id: string;
  status: TenantStatusWire;
  quotas: TenantQuotasWire;
  usage: TenantUsageWire;
  createdRevision: number;
  /** get only: this member's open streams and watchers of the tenant. */
  open?: TenantOpenWire | undefined;
}

export interface TenantIdRequest {
  id: string;
}

export interface TenantCreateRequest {
  id: string;
  quotas: TenantQuotasPatch;
}

export interface TenantQuotasRequest {
  id: string;
  quotas: TenantQuotasPatch;
}

export interface TenantResponse {
  header: ResponseHeader;
  tenant: TenantInfoWire;
}

export interface TenantListResponse {
  header: ResponseHeader;
  tenants: TenantInfoWire[];
}

export interface TenantDeleteResponse {
  header: ResponseHeader;
  /** Keys deleted with the tenant. */
  deleted: number;
}

/** A count that is always written, zero included: a quota of 0 says "unlimited", worth showing. */
const count: Codec<number> = { ...uint64, isZero: () => false };

const status: Codec<TenantStatusWire> = {
  zero: () => 'active',
  isZero: () => false,
  decode(json) {
    if (json === 'active' || json === 'suspended') return json;
    if (typeof json === 'string') throw new DecodeError('ENUM', `unknown value ${JSON.stringify(json)} for tenant status`);
    return string.decode(json, 0) as never;
  },
  encode: (v) => v,
  write: (v) => JSON.stringify(v),
};

const QuotasCodec = message<TenantQuotasWire>('keyward.TenantQuotas', {
  maxKeys: ['max_keys', count],
  maxBytes: ['max_bytes', count],
  maxLeases: ['max_leases', count],
  maxWatchers: ['max_watchers', count],
  maxStreams: ['max_streams', count],
  maxRequestsPerSecond: ['max_requests_per_second', count],
});

const QuotasPatchCodec = message<PatchFields>('keyward.TenantQuotas', {
  maxKeys: ['max_keys', optional(uint64)],
  maxBytes: ['max_bytes', optional(uint64)],
  maxLeases: ['max_leases', optional(uint64)],
  maxWatchers: ['max_watchers', optional(uint64)],
  maxStreams: ['max_streams', optional(uint64)],
  maxRequestsPerSecond: ['max_requests_per_second', optional(uint64)],
});

const UsageCodec = message<TenantUsageWire>('keyward.TenantUsage', {
  keys: ['keys', count],
  bytes: ['bytes', count],
  leases: ['leases', count],
});

const OpenCodec = message<TenantOpenWire>('keyward.TenantOpen', {
  streams: ['streams', count],
  watchers: ['watchers', count],
  member: ['member', string],
});

const TenantInfoCodec = message<TenantInfoWire>('keyward.Tenant', {
  id: ['id', string],
  status: ['status', status],
  quotas: ['quotas', QuotasCodec],
  usage: ['usage', UsageCodec],
  createdRevision: ['created_revision', count],
  open: ['open', optional(OpenCodec)],
});

const IdRequestCodec = message<TenantIdRequest>('keyward.TenantIdRequest', { id: ['id', string] });

/** The request shape as the codec sees it: every quota field present, undefined when not given. */
interface PatchRequestWire {
  id: string;
  quotas: PatchFields;
}

const CreateRequestCodec = message<PatchRequestWire>('keyward.TenantCreateRequest', {
  id: ['id', string],
  quotas: ['quotas', QuotasPatchCodec],
});

const QuotasRequestCodec = message<PatchRequestWire>('keyward.TenantQuotasRequest', {
  id: ['id', string],
  quotas: ['quotas', QuotasPatchCodec],
});

const TenantResponseCodec = message<TenantResponse>('keyward.TenantResponse', {
  header: ['header', ResponseHeaderCodec],
  tenant: ['tenant', TenantInfoCodec],
});

const TenantListResponseCodec = message<TenantListResponse>('keyward.TenantListResponse', {
  header: ['header', ResponseHeaderCodec],
  tenants: ['tenants', repeated(TenantInfoCodec)],
});

const TenantDeleteResponseCodec = message<TenantDeleteResponse>('keyward.TenantDeleteResponse', {
  header: ['header', ResponseHeaderCodec],
  deleted: ['deleted', count],
});

/** Only the fields given, so a patch read back is the patch sent. */
function patchOut(p: PatchFields): TenantQuotasPatch {
  const out: TenantQuotasPatch = {};
  for (const [k, v] of Object.entries(p) as [keyof TenantQuotasWire, number | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

const patchIn = (p: TenantQuotasPatch): PatchFields => ({
  maxKeys: p.maxKeys,
  maxBytes: p.maxBytes,
  maxLeases: p.maxLeases,
  maxWatchers: p.maxWatchers,
  maxStreams: p.maxStreams,
  maxRequestsPerSecond: p.maxRequestsPerSecond,
});

/** The id of a get/suspend/resume/delete; a missing id is "" (the server refuses it as invalid). */
export function decodeTenantIdRequest(json: unknown): TenantIdRequest {
  return IdRequestCodec.decode(json);
}
export function decodeTenantCreateRequest(json: unknown): TenantCreateRequest {
  const r = CreateRequestCodec.decode(json);
  return { id: r.id, quotas: patchOut(r.quotas) };
}
export function decodeTenantQuotasRequest(json: unknown): TenantQuotasRequest {
  const r = QuotasRequestCodec.decode(json);
  return { id: r.id, quotas: patchOut(r.quotas) };
}
/** A list takes no fields (any given are ignored, as unknown fields are). */
export function decodeTenantListRequest(json: unknown): Record<string, never> {
  message<Record<string, never>>('keyward.TenantListRequest', {}).decode(json);
  return {};
}

export function encodeTenantIdRequest(req: TenantIdRequest): JsonObject {
  return IdRequestCodec.encode(req);
}
export function encodeTenantCreateRequest(req: TenantCreateRequest): JsonObject {
  return CreateRequestCodec.encode({ id: req.id, quotas: patchIn(req.quotas) });
}
export function encodeTenantQuotasRequest(req: TenantQuotasRequest): JsonObject {
  return QuotasRequestCodec.encode({ id: req.id, quotas: patchIn(req.quotas) });
}

export function encodeTenantResponseText(res: TenantResponse): string {
  return TenantResponseCodec.write(res);
}
export function encodeTenantListResponseText(res: TenantListResponse): string {
  return TenantListResponseCodec.write(res);
}
export function encodeTenantDeleteResponseText(res: TenantDeleteResponse): string {
  return TenantDeleteResponseCodec.write(res);
}
export function encodeTenantResponse(res: TenantResponse): JsonObject {
  return TenantResponseCodec.encode(res);
}
export function encodeTenantListResponse(res: TenantListResponse): JsonObject {
  return TenantListResponseCodec.encode(res);
}
export function encodeTenantDeleteResponse(res: TenantDeleteResponse): JsonObject {
  return TenantDeleteResponseCodec.encode(res);
}

export function decodeTenantResponse(json: unknown): TenantResponse {
  return TenantResponseCodec.decode(json);
}
export function decodeTenantListResponse(json: unknown): TenantListResponse {
  return TenantListResponseCodec.decode(json);
}
export function decodeTenantDeleteResponse(json: unknown): TenantDeleteResponse {
  return TenantDeleteResponseCodec.decode(json);
}
