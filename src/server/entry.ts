// The data of Keyward's Raft log entries: a small versioned envelope naming the proposer (member
// ID + a per-member sequence number, so the proposer recognises its entry when it is applied) and
// the request. Puts, the hot path, are binary; the rarer requests reuse the wire JSON codecs, which
// already validate and round-trip every field.
//
// Layout (big-endian):
//   [0]      version: 1 (no stamp), 2 (stamped: the request was authorized at the edge) or 3
//            (stamped, and a token named the principal: the token revocation rule applies)
//   [1]      kind (EntryKind)
//   [2..10)  proposer member ID (u64)
//   [10..18) proposer sequence number (u64)
//   versions 2 and 3, the auth stamp: u64 auth revision of the edge check, u16 user length, user
//            (UTF-8), u8 tenant length, tenant (empty for a cluster user)
//   then     payload
// The stamp travels in the log so that every member re-checks the request at apply time against
// the same auth state (GUARANTEES A11): if the auth revision moved since the edge check, apply
// runs the check again and refuses the entry on every member alike.
// put payload: [0] flags (1 prevKv, 2 ignoreValue, 4 ignoreLease), [1..9) lease (i64),
//              [9..13) key length (u32), key, value (the rest).
// lease payload: src/lease's op codec (grant, revoke or checkpoint, binary).
// tenant payload: src/tenants' op codec (create, suspend, resume, setQuotas, delete; versioned JSON).
//
// A committed entry that does not decode is corruption, not input: decoding throws a plain Error
// and the member stops (every replica would hit the same bytes).

import { decodeAuthOp, encodeAuthOp, type AuthOp } from '../auth/index.js';
import { decodeLeaseOp, encodeLeaseOp, type LeaseOp } from '../lease/index.js';
import type { WriteRequest } from '../mvcc/index.js';
import { decodeTenantOp, encodeTenantOp, type TenantOp } from '../tenants/index.js';
import {
  CompactionRequestCodec,
  DeleteRangeRequestCodec,
  TxnRequestCodec,
  decodeCompactionRequest,
  decodeDeleteRangeRequest,
  decodeTxnRequest,
  parseJsonBody,
} from '../wire/index.js';

const VERSION = 1;
const VERSION_STAMPED = 2;
const VERSION_STAMPED_TOKEN = 3;
const HEADER = 18;

const enum EntryKind {
  Put = 1,
  DeleteRange = 2,
  Txn = 3,
  Compaction = 4,
  /** A member publishes its name and client URLs (etcd's publish). */
  Publish = 5,
  /** A member's peer URLs change (etcd's ConfChangeUpdateNode, which Keyward's raft does not have). */
  MemberUpdate = 6,
  /** A lease grant, revoke or checkpoint (renewals never go through the log). */
  Lease = 7,
  /** A change of users, roles, permissions or the auth switch (src/auth's op codec). */
  Auth = 8,
  /** A change of the tenant table (src/tenants' op codec); a delete also removes the tenant's keys, leases and principals. */
  Tenant = 9,
}

export interface RequestId {
  member: bigint;
  seq: bigint;
}

export interface PublishPayload {
  id: bigint;
  name: string;
  clientUrls: string[];
}

export interface MemberUpdatePayload {
  id: bigint;
  peerUrls: string[];
}

export type EntryBody =
  | { kind: 'write'; request: WriteRequest }
  | { kind: 'publish'; publish: PublishPayload }
  | { kind: 'memberUpdate'; update: MemberUpdatePayload }
  | { kind: 'lease'; op: LeaseOp }
  | { kind: 'auth'; op: AuthOp }
  | { kind: 'tenant'; op: TenantOp };

/** Who a request was authorized for at the edge, and at which auth revision. */
export interface AuthStamp {
  user: string;
  /** Empty for a cluster-level user. */
  tenant: string;
  revision: number;
  /**
   * A token named the principal (not a certificate): at apply, a change of the user's
   * credentials after `revision` refuses the entry as "invalid auth token" (the token died).
   */
  token?: boolean;
}

export interface DecodedEntry {
  id: RequestId;
  body: EntryBody;
  stamp?: AuthStamp;
}

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

/** The envelope with room for `payloadBytes`; `at` is where the payload starts. */
function header(kind: EntryKind, id: RequestId, payloadBytes: number, stamp: AuthStamp | undefined): { out: Uint8Array; dv: DataView; at: number } {
  const user = stamp === undefined ? undefined : te.encode(stamp.user);
  const tenant = stamp === undefined ? undefined : te.encode(stamp.tenant);
  if (user !== undefined && user.byteLength > 0xffff) throw new TypeError('server: user name too long for a log entry');
  if (tenant !== undefined && tenant.byteLength > 0xff) throw new TypeError('server: tenant too long for a log entry');
  const stampBytes = user === undefined || tenant === undefined ? 0 : 8 + 2 + user.byteLength + 1 + tenant.byteLength;
  const out = new Uint8Array(HEADER + stampBytes + payloadBytes);
  const dv = new DataView(out.buffer);
  out[0] = stampBytes === 0 ? VERSION : stamp?.token === true ? VERSION_STAMPED_TOKEN : VERSION_STAMPED;
  out[1] = kind;
  dv.setBigUint64(2, id.member);
  dv.setBigUint64(10, id.seq);
  let at = HEADER;
  if (stamp !== undefined && user !== undefined && tenant !== undefined) {
    dv.setBigUint64(at, BigInt(stamp.revision));
    dv.setUint16(at + 8, user.byteLength);
    out.set(user, at + 10);
    at += 10 + user.byteLength;
    out[at] = tenant.byteLength;
    out.set(tenant, at + 1);
    at += 1 + tenant.byteLength;
  }
  return { out, dv, at };
}

function withJson(kind: EntryKind, id: RequestId, json: string, stamp: AuthStamp | undefined): Uint8Array {
  return withBytes(kind, id, te.encode(json), stamp);
}

function withBytes(kind: EntryKind, id: RequestId, body: Uint8Array, stamp: AuthStamp | undefined): Uint8Array {
  const { out, at } = header(kind, id, body.byteLength, stamp);
  out.set(body, at);
  return out;
}

export function encodeEntry(id: RequestId, body: EntryBody, stamp?: AuthStamp): Uint8Array {
  switch (body.kind) {
    case 'write':
      return encodeWrite(id, body.request, stamp);
    case 'publish':
      return withJson(
        EntryKind.Publish,
        id,
        JSON.stringify({ id: body.publish.id.toString(), name: body.publish.name, clientUrls: body.publish.clientUrls }),
        stamp,
      );
    case 'memberUpdate':
      return withJson(EntryKind.MemberUpdate, id, JSON.stringify({ id: body.update.id.toString(), peerUrls: body.update.peerUrls }), stamp);
    case 'lease':
      return withBytes(EntryKind.Lease, id, encodeLeaseOp(body.op), stamp);
    case 'auth':
      return withBytes(EntryKind.Auth, id, encodeAuthOp(body.op), stamp);
    case 'tenant':
      return withBytes(EntryKind.Tenant, id, encodeTenantOp(body.op), stamp);
  }
}

function encodeWrite(id: RequestId, req: WriteRequest, stamp: AuthStamp | undefined): Uint8Array {
  switch (req.type) {
    case 'put': {
      const p = req.put;
      const { out, dv, at } = header(EntryKind.Put, id, 13 + p.key.byteLength + p.value.byteLength, stamp);
      out[at] = (p.prevKv ? 1 : 0) | (p.ignoreValue ? 2 : 0) | (p.ignoreLease ? 4 : 0);
      dv.setBigInt64(at + 1, p.lease);
      dv.setUint32(at + 9, p.key.byteLength);
      out.set(p.key, at + 13);
      out.set(p.value, at + 13 + p.key.byteLength);
      return out;
    }
    case 'deleteRange':
      return withJson(EntryKind.DeleteRange, id, DeleteRangeRequestCodec.write(req.deleteRange), stamp);
    case 'txn':
      return withJson(EntryKind.Txn, id, TxnRequestCodec.write(req.txn), stamp);
    case 'compaction':
      return withJson(EntryKind.Compaction, id, CompactionRequestCodec.write(req.compaction), stamp);
  }
}

/** Decodes a 'normal' entry's data; null for raft's empty no-op entries. */
export function decodeEntry(data: Uint8Array): DecodedEntry | null {
  if (data.byteLength === 0) return null;
  const version = data[0];
  if (data.byteLength < HEADER || (version !== VERSION && version !== VERSION_STAMPED && version !== VERSION_STAMPED_TOKEN)) throw new Error('server: malformed log entry');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const id = { member: dv.getBigUint64(2), seq: dv.getBigUint64(10) };
  let at = HEADER;
  let stamp: AuthStamp | undefined;
  if (version === VERSION_STAMPED || version === VERSION_STAMPED_TOKEN) {
    if (data.byteLength < at + 11) throw new Error('server: malformed log entry stamp');
    const revision = Number(dv.getBigUint64(at));
    const userLen = dv.getUint16(at + 8);
    at += 10;
    if (data.byteLength < at + userLen + 1) throw new Error('server: malformed log entry stamp');
    const user = td.decode(data.subarray(at, at + userLen));
    at += userLen;
    const tenantLen = data[at]!;
    at += 1;
    if (data.byteLength < at + tenantLen) throw new Error('server: malformed log entry stamp');
    const tenant = td.decode(data.subarray(at, at + tenantLen));
    at += tenantLen;
    stamp = version === VERSION_STAMPED_TOKEN ? { user, tenant, revision, token: true } : { user, tenant, revision };
  }
  const decoded = decodeBody(data, dv, at, id);
  return stamp === undefined ? decoded : { ...decoded, stamp };
}

function decodeBody(data: Uint8Array, dv: DataView, at: number, id: RequestId): DecodedEntry {
  const payload = data.subarray(at);
  const json = (): Record<string, unknown> => {
    const v = parseJsonBody(td.decode(payload));
    if (v === null || typeof v !== 'object') throw new Error('server: malformed log entry payload');
    return v as Record<string, unknown>;
  };
  switch (data[1]) {
    case EntryKind.Put: {
      if (payload.byteLength < 13) throw new Error('server: malformed put entry');
      const flags = payload[0]!;
      const lease = dv.getBigInt64(at + 1);
      const keyLen = dv.getUint32(at + 9);
      if (13 + keyLen > payload.byteLength) throw new Error('server: malformed put entry');
      const key = payload.slice(13, 13 + keyLen);
      const value = payload.slice(13 + keyLen);
      return {
        id,
        body: {
          kind: 'write',
          request: {
            type: 'put',
            put: { key, value, lease, prevKv: (flags & 1) !== 0, ignoreValue: (flags & 2) !== 0, ignoreLease: (flags & 4) !== 0 },
          },
        },
      };
    }
    case EntryKind.DeleteRange:
      return { id, body: { kind: 'write', request: { type: 'deleteRange', deleteRange: decodeDeleteRangeRequest(json()) } } };
    case EntryKind.Txn:
      return { id, body: { kind: 'write', request: { type: 'txn', txn: decodeTxnRequest(json()) } } };
    case EntryKind.Compaction:
      return { id, body: { kind: 'write', request: { type: 'compaction', compaction: decodeCompactionRequest(json()) } } };
    case EntryKind.Publish: {
      const o = json();
      return {
        id,
        body: { kind: 'publish', publish: { id: BigInt(String(o['id'])), name: String(o['name']), clientUrls: stringList(o['clientUrls']) } },
      };
    }
    case EntryKind.MemberUpdate: {
      const o = json();
      return { id, body: { kind: 'memberUpdate', update: { id: BigInt(String(o['id'])), peerUrls: stringList(o['peerUrls']) } } };
    }
    case EntryKind.Lease:
      return { id, body: { kind: 'lease', op: decodeLeaseOp(payload) } };
    case EntryKind.Auth:
      return { id, body: { kind: 'auth', op: decodeAuthOp(payload) } };
    case EntryKind.Tenant:
      return { id, body: { kind: 'tenant', op: decodeTenantOp(payload) } };
    default:
      throw new Error(`server: unknown log entry kind ${data[1]}`);
  }
}

function stringList(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error('server: malformed string list in log entry');
  return v as string[];
}

// --- conf change context ---------------------------------------------------------------------
// [0] version = 1, [1..9) proposer member ID, [9..17) sequence, [17..) member JSON (may be absent
// for raft's bootstrap entries, whose context is empty).

export interface MemberAttrs {
  name: string;
  peerUrls: string[];
  isLearner: boolean;
}

export function encodeConfContext(id: RequestId, attrs: MemberAttrs | null): Uint8Array {
  const body = attrs === null ? new Uint8Array(0) : te.encode(JSON.stringify(attrs));
  const out = new Uint8Array(17 + body.byteLength);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  dv.setBigUint64(1, id.member);
  dv.setBigUint64(9, id.seq);
  out.set(body, 17);
  return out;
}

export function decodeConfContext(ctx: Uint8Array): { id: RequestId; attrs: MemberAttrs | null } | null {
  if (ctx.byteLength === 0) return null;
  if (ctx.byteLength < 17 || ctx[0] !== VERSION) throw new Error('server: malformed conf change context');
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const id = { member: dv.getBigUint64(1), seq: dv.getBigUint64(9) };
  if (ctx.byteLength === 17) return { id, attrs: null };
  const o = JSON.parse(td.decode(ctx.subarray(17))) as Record<string, unknown>;
  return { id, attrs: { name: String(o['name'] ?? ''), peerUrls: stringList(o['peerUrls']), isLearner: o['isLearner'] === true } };
}
