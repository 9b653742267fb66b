// Public surface of the watch module: the hub the server notifies, the per-connection stream the
// api layer serves, and what they hand out.
export { WatchHub } from './hub.js';
export type { HistorySource, HeaderFields, WatchHubOptions, WatchHubStats } from './hub.js';
export { WatchStream, DEFAULT_MAX_BUFFERED_BYTES } from './stream.js';
export type { WatchStreamOptions } from './stream.js';
export type { WatchMessage, WatchMessageKind } from './encode.js';
export { WatchError } from './errors.js';
export type { WatchErrorCode } from './errors.js';
export { NODE_TIMERS } from './timers.js';
export type { Timers } from './timers.js';
