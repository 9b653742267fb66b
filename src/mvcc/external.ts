// What mvcc needs from the modules whose state lives beside the key space (leases today, auth
// later), declared here, by the consumer, so that neither imports the other (STYLE 4): src/lease
// implements these shapes and the server wires them together.
//
// Both kinds of call happen inside the write transaction of an apply batch, so their reads see
// the batch's earlier writes and their writes commit (or roll back) with the key changes and the
// applied index: a crash can never leave a key attached to a lease that does not exist, nor a
// lease revoked while its keys live on.
import type { WriteTxn } from '../storage/index.js';
import type { ResponseHeader } from '../wire/index.js';

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
