import {
  TenantPath,
  decodeTenantDeleteResponse,
  decodeTenantListResponse,
  decodeTenantResponse,
  encodeTenantCreateRequest,
  encodeTenantIdRequest,
  encodeTenantQuotasRequest,
  type TenantDeleteResponse,
  type TenantListResponse,
  type TenantQuotasPatch,
  type TenantResponse,
} from '../wire/index.js';
import { HttpTransport, type ClientOptions } from './http.js';

// Keyward's tenants API (`/v1/tenants/*`, docs/tenancy-plan.md) over the shared transport. Errors
// are KeywardErrors carrying the member's status, gRPC code and message (e.g. 404/5 "keyward:
// tenant not found", 429/8 "keyward: tenant quota exceeded: maxKeys (10)").
//
// Reads (get, list) fail over between endpoints; every change is a raft write sent to one endpoint
// only, since a call that timed out may have been applied (GUARANTEES L15).

export class TenantClient {
  private readonly http: HttpTransport;

  constructor(opts: ClientOptions) {
    this.http = new HttpTransport(opts);
  }

  /** Creates an active tenant; quotas left out get the cluster's defaults (0 = unlimited). */
  async create(id: string, quotas: TenantQuotasPatch = {}): Promise<TenantResponse> {
    return decodeTenantResponse(await this.http.call(TenantPath.CREATE, encodeTenantCreateRequest({ id, quotas }), false));
  }

  /**
   * The tenant's record and storage usage (linearizable), and `open`: its streams and watchers open
   * on the member that answered (not replicated: each member counts its own).
   */
  async get(id: string): Promise<TenantResponse> {
    return decodeTenantResponse(await this.http.call(TenantPath.GET, encodeTenantIdRequest({ id }), true));
  }

  async list(): Promise<TenantListResponse> {
    return decodeTenantListResponse(await this.http.call(TenantPath.LIST, {}, true));
  }

  /** Its principals are refused and its watches canceled until resumed. */
  async suspend(id: string): Promise<TenantResponse> {
    return decodeTenantResponse(await this.http.call(TenantPath.SUSPEND, encodeTenantIdRequest({ id }), false));
  }

  async resume(id: string): Promise<TenantResponse> {
    return decodeTenantResponse(await this.http.call(TenantPath.RESUME, encodeTenantIdRequest({ id }), false));
  }

  /** Deletes the tenant with every key, lease, user and role it has, at one revision. */
  async delete(id: string): Promise<TenantDeleteResponse> {
    return decodeTenantDeleteResponse(await this.http.call(TenantPath.DELETE, encodeTenantIdRequest({ id }), false));
  }

  /** Changes the quotas given, keeps the others. */
  async setQuotas(id: string, quotas: TenantQuotasPatch): Promise<TenantResponse> {
    return decodeTenantResponse(await this.http.call(TenantPath.QUOTAS, encodeTenantQuotasRequest({ id, quotas }), false));
  }

  close(): void {
    this.http.close();
  }
}
