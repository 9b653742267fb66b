// The tenants API (docs/tenancy-plan.md): POST /v1/tenants/{create,get,list,suspend,resume,delete,
// quotas}, JSON in the v3 API's style (src/wire/tenants.ts), errors in etcd's envelope from the one
// status table (api/errors.ts). Handlers decode, check what only the edge can check, delegate to
// the server's tenant methods with who is asking, and encode.
//
// Who may call: cluster administrators (the server decides, as for every admin RPC); `get` also a
// principal of that tenant. A tenant principal is refused here, before the server, for every call
// but `get` of its own tenant: it acts inside its tenant and these calls are about tenants. Its
// refusal is the plain permission denied, whether or not the tenant it named exists (A21).
//
// `get` also answers `open`: the tenant's streams and watchers open on this member (the edge's
// counts, not replicated), read after the record so that whoever may read the record reads them.
import type { IncomingMessage } from 'node:http';
import { AuthError, type RequestAuth, type TenantInfo, type TenantQuotas } from '../server/index.js';
import {
  DecodeError,
  TenantPath,
  decodeTenantCreateRequest,
  decodeTenantIdRequest,
  decodeTenantListRequest,
  decodeTenantQuotasRequest,
  encodeTenantDeleteResponseText,
  encodeTenantListResponseText,
  encodeTenantResponseText,
  type ResponseHeader,
  type TenantInfoWire,
} from '../wire/index.js';
import { TenantEdge } from './tenant-edge.js';


type One = Promise<{ header: ResponseHeader; tenant: TenantInfo }>;

/** The server's tenant methods (implemented by KeywardServer). */
export interface TenantServer {
  tenantCreate(req: { id: string; quotas?: Partial<TenantQuotas> }, auth?: RequestAuth): One;
  tenantSetQuotas(req: { id: string; quotas: Partial<TenantQuotas> }, auth?: RequestAuth): One;
  tenantSuspend(req: { id: string }, auth?: RequestAuth): One;
  tenantResume(req: { id: string }, auth?: RequestAuth): One;
  tenantDelete(req: { id: string }, auth?: RequestAuth): Promise<{ header: ResponseHeader; deleted: number }>;
  tenantGet(req: { id: string }, auth?: RequestAuth): One;
  tenantList(auth?: RequestAuth): Promise<{ header: ResponseHeader; tenants: TenantInfo[] }>;
}

/** This member's open streams and watchers of a tenant (TenantEdge). */
export interface TenantOpenCounts {
  openCounts(tenant: string): { streams: number; watchers: number };
}

type Rpc = (body: unknown, req: IncomingMessage, auth: RequestAuth) => Promise<string>;

const wire = (t: TenantInfo): TenantInfoWire => ({
  id: t.id,
  status: t.status,
  quotas: { ...t.quotas },
  usage: { keys: t.usage.keys, bytes: t.usage.bytes, leases: t.usage.leases },
  createdRevision: t.createdRevision,
});

/** Only cluster principals (and nobody, when auth is off: the server decides then). */
function clusterOnly(auth: RequestAuth): void {
  if (TenantEdge.tenantOf(auth) !== undefined) throw new AuthError('PERMISSION_DENIED');
}

/** A patch without the fields left out (the server's Partial<TenantQuotas>). */
function quotasGiven(q: { [K in keyof TenantQuotas]?: number | undefined }): Partial<TenantQuotas> {
  const out: Partial<TenantQuotas> = {};
  for (const [k, v] of Object.entries(q) as [keyof TenantQuotas, number | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

/** The tenant RPCs by their full path (/v1/tenants/…). */
export function tenantsApi(server: TenantServer, edge: TenantOpenCounts): Record<string, Rpc> {
  const one = async (p: One): Promise<string> => {
    const r = await p;
    return encodeTenantResponseText({ header: r.header, tenant: wire(r.tenant) });
  };
  return {
    [TenantPath.CREATE]: async (b, _r, a) => {
      const req = decodeTenantCreateRequest(b);
      clusterOnly(a);
      const quotas = quotasGiven(req.quotas);
      return one(server.tenantCreate(Object.keys(quotas).length === 0 ? { id: req.id } : { id: req.id, quotas }, a));
    },
    [TenantPath.GET]: async (b, _r, a) => {
      const req = decodeTenantIdRequest(b);
      const own = TenantEdge.tenantOf(a);
      if (own !== undefined && own !== req.id) throw new AuthError('PERMISSION_DENIED');
      const r = await server.tenantGet({ id: req.id }, a);
      const open = { ...edge.openCounts(r.tenant.id), member: r.header.memberId.toString(16) };
      return encodeTenantResponseText({ header: r.header, tenant: { ...wire(r.tenant), open } });
    },
    [TenantPath.LIST]: async (b, _r, a) => {
      decodeTenantListRequest(b);
      clusterOnly(a);
      const r = await server.tenantList(a);
      return encodeTenantListResponseText({ header: r.header, tenants: r.tenants.map(wire) });
    },
    [TenantPath.SUSPEND]: async (b, _r, a) => {
      const req = decodeTenantIdRequest(b);
      clusterOnly(a);
      return one(server.tenantSuspend({ id: req.id }, a));
    },
    [TenantPath.RESUME]: async (b, _r, a) => {
      const req = decodeTenantIdRequest(b);
      clusterOnly(a);
      return one(server.tenantResume({ id: req.id }, a));
    },
    [TenantPath.DELETE]: async (b, _r, a) => {
      const req = decodeTenantIdRequest(b);
      clusterOnly(a);
      const r = await server.tenantDelete({ id: req.id }, a);
      return encodeTenantDeleteResponseText({ header: r.header, deleted: r.deleted });
    },
    [TenantPath.QUOTAS]: async (b, _r, a) => {
      const req = decodeTenantQuotasRequest(b);
      const quotas = quotasGiven(req.quotas);
      // An update that names no quota is a mistake (a misspelt field name is ignored as unknown).
      if (Object.keys(quotas).length === 0) throw new DecodeError('SHAPE', 'keyward: no quota given (quotas: {max_keys, max_bytes, max_leases, max_watchers, max_streams, max_requests_per_second})', 'quotas');
      clusterOnly(a);
      return one(server.tenantSetQuotas({ id: req.id, quotas }, a));
    },
  };
}
