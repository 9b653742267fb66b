// Public surface of the watch module: the hub the server notifies, the per-connection stream the
// api layer serves, and what they hand out.
//
// Wiring (server and api; see hub.ts for the invariants behind each rule):
//
//   const hub = new WatchHub(kvStore, {            // KvStore is a HistorySource
//     header: () => ({ clusterId, memberId, raftTerm }),
//     progressIntervalMs,                          // etcd --experimental-watch-progress-notify-interval
//     fragmentBytes: maxRequestBytes,              // etcd --max-request-bytes
//     onFatal: (err) => stopMember(err),
//   });                                            // construct after the store opened, before applying more
//
//   // after every apply batch, once its revisions are readable from the store, in apply order:
//   hub.notifyApplied(applyResult.events);         // or hub.notify(revision, eventsOfThatRevision)
//   // after replacing the store's state with a Raft snapshot:
//   hub.restored(kvStore.currentRevision);
//   // at shutdown:
//   await hub.close();
//
//   // api, per client stream (POST /v3/watch, WebSocket, SSE):
//   const stream = hub.openStream();
//   stream.request(decodeWatchRequest(json));      // for each request object received
//   for await (const m of stream) write(m.text + '\n');   // await the socket's drain when write says so
//   stream.close();                                // when the client goes away
//
// Notify only revisions the member may show to readers (durable / committed by Raft): watchers see
// what notify says, never more. Events must carry prevKv as KvStore.apply produces them.
export { WatchHub } from './hub.js';
export type { HistorySource, HeaderFields, WatchHubOptions, WatchHubStats } from './hub.js';
export { WatchStream, DEFAULT_MAX_BUFFERED_BYTES } from './stream.js';
export type { WatchStreamOptions } from './stream.js';
export type { WatchMessage, WatchMessageKind } from './encode.js';
export { WatchError } from './errors.js';
export type { WatchErrorCode } from './errors.js';
export { NODE_TIMERS } from './timers.js';
export type { Timers } from './timers.js';
