// Public surface of the storage module: the LMDB environments, their sub-database registry, and
// the Raft log store.
export { Storage, MAX_KEY_BYTES, prepareDataDir } from './storage.js';
export { ReadCache } from './read-cache.js';
export type { Durability, StorageOptions, RangeOptions, StorageStats, Table, WriteTxn } from './storage.js';
export { SUB_DBS, ALL_SUB_DBS, STATE_SUB_DBS, RAFT_SUB_DBS } from './registry.js';
export type { SubDbName } from './registry.js';
export { StorageError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
export { RaftLogStore } from './raft-log.js';
export type { RaftLogWrite, RaftLogStoreOptions } from './raft-log.js';
