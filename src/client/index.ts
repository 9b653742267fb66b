export { KeywardError, type ClientOptions } from './http.js';
export { clientTlsFromFiles, type ClientTls } from './tls.js';
export type { BasicAuth, TokenSource } from './credentials.js';
export { KvClient } from './kv-client.js';
export { ClusterClient } from './cluster-client.js';
export { LeaseClient, LeaseKeepAlive, type LeaseLoss, type KeepAliveOptions, type KeepAliveTimers } from './lease-client.js';
export { rangeRequest, putRequest, deleteRangeRequest, txnRequest, type Partial1 } from './requests.js';
export {
  WatchClient,
  Watch,
  WatchError,
  watchCreateRequest,
  type WatchClientOptions,
  type WatchOptions,
  type WatchUpdate,
  type WatchEventsUpdate,
  type WatchProgressUpdate,
  type WatchErrorCode,
  type WatchStats,
  type ReconnectInfo,
} from './watch.js';
export { Backoff, backoffDelay, backoffCeiling, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { AuthClient, type AuthClientOptions, type KeyInput, type PermissionInput } from './auth-client.js';
export { TenantClient } from './tenant-client.js';
export { LockClient, Lock, LockError, type LockErrorCode, type LockOptions } from './lock.js';
