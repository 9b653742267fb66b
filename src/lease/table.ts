// The lease table: the replicated, durable half of the lessor, in two sub-databases of the
// member's state environment.
//
//   lease.leases  8-byte lease ID (int64, big-endian two's complement) → record:
//                 [0] format version = 1, [1..9) granted TTL s (i64), [9..17) checkpointed
//                 remaining TTL s (i64; 0 = none, the lease counts from its granted TTL)
//   lease.keys    8-byte lease ID ‖ user key → [1]: one row per key attached to the lease
//
// It changes only inside an apply batch's write transaction (the Writer calls attach/detach
// through mvcc's LeaseAttachments; grant/revoke/checkpoint entries through ops.ts), so the keys,
// their leases and the applied index always commit together. Worked example:
//   grant 7 (ttl 10)            leases{7: 10/0}
//   put a lease=7, put b lease=7  keys{7‖a, 7‖b}
//   put a lease=0                keys{7‖b}               (detached by the put)
//   checkpoint 7 remaining=4     leases{7: 10/4}
//   revoke 7                     b deleted at one revision (detached), then leases{}, keys{}
// Reads outside a transaction see the last committed state.
import { SUB_DBS, type Storage, type Table, type WriteTxn } from '../storage/index.js';

export interface LeaseRecord {
  id: bigint;
  /** Granted TTL in seconds (already raised to the minimum when it was proposed). */
  ttl: number;
  /** Remaining seconds at the last checkpoint; 0 when never checkpointed or renewed since. */
  remainingTtl: number;
}

const VERSION = 1;
const RECORD_BYTES = 17;
const ATTACHED = Uint8Array.of(1);

export function leaseIdKey(id: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, id);
  return out;
}

function idFromKey(key: Uint8Array): bigint {
  return new DataView(key.buffer, key.byteOffset, 8).getBigInt64(0);
}

function encodeRecord(r: LeaseRecord): Uint8Array {
  const out = new Uint8Array(RECORD_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  dv.setBigInt64(1, BigInt(r.ttl));
  dv.setBigInt64(9, BigInt(r.remainingTtl));
  return out;
}

function decodeRecord(id: bigint, buf: Uint8Array): LeaseRecord {
  if (buf.byteLength !== RECORD_BYTES || buf[0] !== VERSION) throw new Error(`lease: corrupt record of lease ${id}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { id, ttl: Number(dv.getBigInt64(1)), remainingTtl: Number(dv.getBigInt64(9)) };
}

/** The keys of lease.keys rows of one lease: [id, id + 1) as unsigned 8-byte strings. */
function attachmentRange(id: bigint): { gte: Uint8Array; lt?: Uint8Array } {
  const gte = leaseIdKey(id);
  const lt = gte.slice();
  for (let i = 7; i >= 0; i--) {
    if (lt[i] !== 0xff) {
      lt[i]!++;
      return { gte, lt };
    }
    lt[i] = 0;
  }
  return { gte }; // id -1 (0xff…ff): its rows run to the end of the table
}

export class LeaseTable {
  private readonly leases: Table;
  private readonly attached: Table;

  constructor(storage: Storage) {
    this.leases = storage.table(SUB_DBS.leaseLeases);
    this.attached = storage.table(SUB_DBS.leaseKeys);
  }

  exists(id: bigint): boolean {
    return this.leases.get(leaseIdKey(id)) !== undefined;
  }

  get(id: bigint): LeaseRecord | undefined {
    const buf = this.leases.get(leaseIdKey(id));
    return buf === undefined ? undefined : decodeRecord(id, buf);
  }

  list(): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (const { key, value } of this.leases.range()) out.push(decodeRecord(idFromKey(key), value));
    return out;
  }

  get size(): number {
    return this.leases.count();
  }

  /** The keys attached to lease `id`, in byte order (the order etcd revokes them in). */
  keys(id: bigint): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const k of this.attached.keys(attachmentRange(id))) out.push(k.slice(8));
    return out;
  }

  // ---- writes: only inside an apply batch's transaction ----------------------------------------

  attach(txn: WriteTxn, id: bigint, key: Uint8Array): void {
    txn.put(this.attached, attachmentKey(id, key), ATTACHED);
  }

  detach(txn: WriteTxn, id: bigint, key: Uint8Array): void {
    txn.remove(this.attached, attachmentKey(id, key));
  }

  /** Writes a lease record (a grant, or a checkpoint of its remaining TTL). */
  put(txn: WriteTxn, rec: LeaseRecord): void {
    txn.put(this.leases, leaseIdKey(rec.id), encodeRecord(rec));
  }

  /** Removes the lease and whatever attachments it still has. */
  remove(txn: WriteTxn, id: bigint): void {
    // Collected first: a table must not be written while one of its cursors is open.
    const rows = [...this.attached.keys(attachmentRange(id))];
    for (const k of rows) txn.remove(this.attached, k);
    txn.remove(this.leases, leaseIdKey(id));
  }
}

function attachmentKey(id: bigint, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + key.byteLength);
  new DataView(out.buffer).setBigInt64(0, id);
  out.set(key, 8);
  return out;
}
