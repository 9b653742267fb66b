export { KeywardServer, ETCD_API_VERSION, type ServerOptions } from './keyward-server.js';
export { ServerError, type ServerErrorCode } from './errors.js';
// The api layer translates mvcc's semantic errors; it sees them through the server's surface.
export { MvccError } from '../mvcc/index.js';
