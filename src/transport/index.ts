// Public surface of the transport module: peer messaging and snapshot streaming between members.
// See transport.ts (design), protocol.ts (HTTP protocol) and codec.ts (binary message format).

export { Transport } from './transport.js';
export type { TransportOptions, PeerTlsOptions, TransportLogger } from './options.js';
export type { PeerIdentity } from './peer-identity.js';
export type { CallHandler } from './call.js';
export { SILENT_LOGGER } from './options.js';
export type { Timers } from './timers.js';
export { NODE_TIMERS } from './timers.js';
export { TransportError, isTransportError, HTTP_STATUS } from './errors.js';
export type { TransportErrorCode } from './errors.js';
export { CODEC_VERSION, encodeMessage, decodeMessage } from './codec.js';
