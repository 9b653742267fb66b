// The lease changes that go through Raft (grant, revoke, checkpoint), their log-entry payloads,
// and how each is applied to the lease table inside an apply batch. Renewals never appear here:
// they are leader memory only (lessor.ts), as in etcd.
//
// Every value that could differ between members is decided by the proposer and written into the
// entry: the lease ID (random when the client asked for 0) and the TTL already raised to the
// minimum (which depends on the proposer's election timeout). Applying is then a pure function of
// the entry and the table, identical on every member.
import type { WriteTxn } from '../storage/index.js';
import { MAX_LEASE_TTL } from '../wire/index.js';
import { LeaseError } from './errors.js';
import type { LeaseTable } from './table.js';

export interface LeaseCheckpoint {
  id: bigint;
  /** Remaining seconds to record; 0 clears the checkpoint (a renewal). */
  remainingTtl: number;
}

export type LeaseOp =
  | { type: 'grant'; id: bigint; ttl: number }
  | { type: 'revoke'; id: bigint }
  | { type: 'checkpoint'; checkpoints: LeaseCheckpoint[] };

const GRANT = 1;
const REVOKE = 2;
const CHECKPOINT = 3;

export function encodeLeaseOp(op: LeaseOp): Uint8Array {
  switch (op.type) {
    case 'grant': {
      const out = new Uint8Array(17);
      const dv = new DataView(out.buffer);
      out[0] = GRANT;
      dv.setBigInt64(1, op.id);
      dv.setBigInt64(9, BigInt(op.ttl));
      return out;
    }
    case 'revoke': {
      const out = new Uint8Array(9);
      out[0] = REVOKE;
      new DataView(out.buffer).setBigInt64(1, op.id);
      return out;
    }
    case 'checkpoint': {
      const out = new Uint8Array(5 + 16 * op.checkpoints.length);
      const dv = new DataView(out.buffer);
      out[0] = CHECKPOINT;
      dv.setUint32(1, op.checkpoints.length);
      op.checkpoints.forEach((c, i) => {
        dv.setBigInt64(5 + 16 * i, c.id);
        dv.setBigInt64(13 + 16 * i, BigInt(c.remainingTtl));
      });
      return out;
    }
  }
}

/** Decodes a committed payload. Malformed bytes are corruption, not input: a plain Error. */
export function decodeLeaseOp(data: Uint8Array): LeaseOp {
  const bad = (): never => {
    throw new Error('lease: malformed lease entry');
  };
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (data[0]) {
    case GRANT:
      if (data.byteLength !== 17) bad();
      return { type: 'grant', id: dv.getBigInt64(1), ttl: Number(dv.getBigInt64(9)) };
    case REVOKE:
      if (data.byteLength !== 9) bad();
      return { type: 'revoke', id: dv.getBigInt64(1) };
    case CHECKPOINT: {
      if (data.byteLength < 5) bad();
      const n = dv.getUint32(1);
      if (data.byteLength !== 5 + 16 * n) bad();
      const checkpoints: LeaseCheckpoint[] = [];
      for (let i = 0; i < n; i++) checkpoints.push({ id: dv.getBigInt64(5 + 16 * i), remainingTtl: Number(dv.getBigInt64(13 + 16 * i)) });
      return { type: 'checkpoint', checkpoints };
    }
    default:
      return bad();
  }
}

/** What applying needs from the key space (mvcc's ExternalContext has this shape). */
export interface LeaseApplyContext {
  readonly txn: WriteTxn;
  deleteKeys(keys: readonly Uint8Array[]): number;
}

export type LeaseOpValue = { type: 'grant'; id: bigint; ttl: number } | { type: 'revoke'; deleted: number } | { type: 'checkpoint' };

export type LeaseOpOutcome = { ok: true; value: LeaseOpValue } | { ok: false; error: LeaseError };

/**
 * Applies one op inside the batch transaction. Refusals are decided before the first write (so a
 * refused entry leaves no trace), with etcd's lessor rules: grant of ID 0 or of a TTL above the
 * maximum, grant of an existing ID, revoke of a missing lease. A checkpoint of a lease that is
 * gone is skipped, as etcd does.
 */
export function applyLeaseOp(table: LeaseTable, op: LeaseOp, ctx: LeaseApplyContext): LeaseOpOutcome {
  switch (op.type) {
    case 'grant':
      if (op.id === 0n) return { ok: false, error: new LeaseError('LEASE_NOT_FOUND') };
      if (op.ttl > MAX_LEASE_TTL) return { ok: false, error: new LeaseError('LEASE_TTL_TOO_LARGE') };
      if (table.exists(op.id)) return { ok: false, error: new LeaseError('LEASE_EXISTS') };
      table.put(ctx.txn, { id: op.id, ttl: op.ttl, remainingTtl: 0 });
      return { ok: true, value: { type: 'grant', id: op.id, ttl: op.ttl } };
    case 'revoke': {
      if (!table.exists(op.id)) return { ok: false, error: new LeaseError('LEASE_NOT_FOUND') };
      // One revision for all of them; each deletion detaches its key (mvcc calls detach).
      const deleted = ctx.deleteKeys(table.keys(op.id));
      table.remove(ctx.txn, op.id);
      return { ok: true, value: { type: 'revoke', deleted } };
    }
    case 'checkpoint':
      for (const c of op.checkpoints) {
        const rec = table.get(c.id);
        if (rec !== undefined) table.put(ctx.txn, { ...rec, remainingTtl: c.remainingTtl });
      }
      return { ok: true, value: { type: 'checkpoint' } };
  }
}
