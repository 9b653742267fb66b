// Public surface of the storage module: the LMDB environment and its sub-database registry.
export { Storage, MAX_KEY_BYTES } from './storage.js';
export type { Durability, StorageOptions, RangeOptions, StorageStats, Table, WriteTxn } from './storage.js';
export { SUB_DBS, ALL_SUB_DBS } from './registry.js';
export type { SubDbName } from './registry.js';
export { StorageError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
