// Public surface of the mvcc module: etcd v3 KV semantics on LMDB.
export { KvStore } from './store.js';
export type { WriteRequest, WriteResponse, WriteResult, Entry, ApplyResult, KvStoreOptions, ExternalRequest } from './store.js';
export type {
  LeaseAttachments,
  ExternalChange,
  ExternalContext,
  ExternalOutcome,
  ExternalRejection,
  ExternalResponse,
  UsageObserver,
  UsageSession,
  ObservedRequest,
} from './external.js';
export type { ChangeEvent, HistoryPage } from './events.js';
export { MvccError, CorruptError } from './errors.js';
export type { MvccErrorCode } from './errors.js';
export {
  validateRange,
  validatePut,
  validateDeleteRange,
  validateTxn,
  DEFAULT_MAX_TXN_OPS,
  MAX_KEY_LENGTH,
} from './validate.js';
