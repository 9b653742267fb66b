// What mvcc needs from the modules whose state lives beside the key space (leases today, auth
// later), declared here, by the consumer, so that neither imports the other (STYLE 4): src/lease
// implements these shapes and the server wires them together.
//
// Both kinds of call happen inside the write transaction of an apply batch, so their reads see
// the batch's earlier writes and their writes commit (or roll back) with the key changes and the
// applied index: a crash can never leave a key attached to a lease that does not exist, nor a
// lease revoked while its keys live on.
import type { WriteTxn } from '../storage/index.js';
import type { DeleteRangeRequest, PutRequest, ResponseHeader, TxnRequest } from '../wire/index.js';

/**
 * The lease table as the key space sees it: a put with a lease checks that the lease exists
 * (etcd: "requested lease not found"), and every change of a key's lease (put with another lease or
 * none, delete) moves the key between the leases' attachment lists.
 */
export interface LeaseAttachments {
  exists(id: bigint): boolean;
  attach(txn: WriteTxn, id: bigint, key: Uint8Array): void;
  detach(txn: WriteTxn, id: bigint, key: Uint8Array): void;
}

/** A refusal by an external change, made before it wrote anything. `code` names an EtcdError. */
export interface ExternalRejection extends Error {
  readonly code: string;
}

export type ExternalOutcome = { ok: true; value: unknown } | { ok: false; error: ExternalRejection };

/** What an external change may do to the key space, all at one new revision. */
export interface ExternalContext {
  /** Writes to the external module's own tables; they commit with the batch. */
  readonly txn: WriteTxn;
  /**
   * Deletes those of `keys` that exist, each as its own DELETE event, all at ONE new revision (a
   * lease revoke). Keys that do not exist are skipped; deleting none leaves the revision alone.
   * Returns how many were deleted.
   */
  deleteKeys(keys: readonly Uint8Array[]): number;
  /**
   * Deletes every live key in [key, rangeEnd) (etcd's range form: empty rangeEnd = the key alone)
   * at the same one revision as deleteKeys (a tenant deletion). Returns how many were deleted.
   */
  deleteRange(key: Uint8Array, rangeEnd: Uint8Array): number;
}

/**
 * A log entry owned by another module (a lease grant, revoke or checkpoint), applied in mvcc's
 * batch so it shares the transaction and the applied index. It must check everything before its
 * first write and report a refusal as `{ ok: false }` (a throw is a bug and fails the batch).
 */
export interface ExternalChange {
  apply(ctx: ExternalContext): ExternalOutcome;
}

/** The entry's response: the header at the revision after it, and the change's own value. */
export interface ExternalResponse {
  header: ResponseHeader;
  value: unknown;
}

/**
 * Storage accounting beside the key space (tenant usage and quotas), declared here so mvcc knows
 * nothing of tenants: the server implements it. For every entry of a batch mvcc asks `begin` for a
 * session; a session hears every key change of that entry (value lengths before and after) and,
 * once the entry has executed and before it counts as applied, `finish` either records what it
 * heard (writing through `txn`) or refuses the entry. A refused entry is undone completely (see
 * undo.ts): no key, event, lease attachment or revision of it remains, and its result is the
 * refusal.
 *
 * Only key-space requests may be refused (a quota can only be exceeded by a put): external
 * changes (lease revokes, tenant deletions) only delete keys, so `finish` refusing one is a bug and
 * fails the batch.
 */
export interface UsageObserver {
  /** A session for one entry, or undefined when none of its changes need accounting. */
  begin(request: ObservedRequest): UsageSession | undefined;
}

/** What `begin` is shown: the key-space request, or `external` for another module's change. */
export type ObservedRequest =
  | { type: 'put'; put: PutRequest }
  | { type: 'deleteRange'; deleteRange: DeleteRangeRequest }
  | { type: 'txn'; txn: TxnRequest }
  | { type: 'compaction' }
  | { type: 'external' };

export interface UsageSession {
  /**
   * Whether `finish` may refuse: mvcc then keeps what the entry overwrites so it can undo it
   * (one extra read per storage write, spent only on entries that can hit a limit).
   */
  readonly mayRefuse: boolean;
  /** One key changed: value lengths before and after (undefined = absent on that side). */
  keyChanged(key: Uint8Array, before: number | undefined, after: number | undefined): void;
  /** After the entry executed: a refusal (only when mayRefuse), or undefined once recorded through `txn`. */
  finish(txn: WriteTxn): ExternalRejection | undefined;
}
