export { KeywardServer, ETCD_API_VERSION, type ServerOptions, type InitialMember, type ServerLogger } from './keyward-server.js';
// The api layer serves watch streams the server opens; it sees their types through the server's surface.
export { WatchStream, type WatchMessage, type WatchHubStats } from '../watch/index.js';
export { ServerError, ClusterError, type ServerErrorCode } from './errors.js';
export { memberIdFor, clusterIdFor } from './identity.js';
// The api layer translates mvcc's semantic errors; it sees them through the server's surface.
export { MvccError } from '../mvcc/index.js';
// ... and the lease module's refusals.
export { LeaseError } from '../lease/index.js';
// Authorization: the api resolves who is asking and hands it over with each request.
export { AuthError } from '../auth/index.js';
export type { Principal, RequestAuth, AuditLogger } from './auth.js';
export type { AuthService } from './auth-service.js';
