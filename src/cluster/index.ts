// Public surface of the cluster module: the Raft node driver (see node.ts) and the log interface it
// persists Readys through.
export { RaftNode, NODE_TICKER } from './node.js';
export type { RaftNodeOptions, Applier, MessageSink, Ticker, QueuedWrite } from './node.js';
export { MemoryLog } from './log.js';
export type { LogStore, ReadyWrite } from './log.js';
