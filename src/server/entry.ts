// The data of Keyward's Raft log entries: a small versioned envelope naming the proposer (member
// ID + a per-member sequence number, so the proposer recognises its entry when it is applied) and
// the request. Puts, the hot path, are binary; the rarer requests reuse the wire JSON codecs, which
// already validate and round-trip every field.
//
// Layout (big-endian):
//   [0]      version = 1
//   [1]      kind (EntryKind)
//   [2..10)  proposer member ID (u64)
//   [10..18) proposer sequence number (u64)
//   [18..)   payload
// put payload: [0] flags (1 prevKv, 2 ignoreValue, 4 ignoreLease), [1..9) lease (i64),
//              [9..13) key length (u32), key, value (the rest).
// lease payload: src/lease's op codec (grant, revoke or checkpoint, binary).
//
// A committed entry that does not decode is corruption, not input: decoding throws a plain Error
// and the member stops (every replica would hit the same bytes).

import { decodeLeaseOp, encodeLeaseOp, type LeaseOp } from '../lease/index.js';
import type { WriteRequest } from '../mvcc/index.js';
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
  | { kind: 'lease'; op: LeaseOp };

export interface DecodedEntry {
  id: RequestId;
  body: EntryBody;
}

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

function header(kind: EntryKind, id: RequestId, payloadBytes: number): { out: Uint8Array; dv: DataView } {
  const out = new Uint8Array(HEADER + payloadBytes);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = kind;
  dv.setBigUint64(2, id.member);
  dv.setBigUint64(10, id.seq);
  return { out, dv };
}

function withJson(kind: EntryKind, id: RequestId, json: string): Uint8Array {
  const body = te.encode(json);
  const { out } = header(kind, id, body.byteLength);
  out.set(body, HEADER);
  return out;
}

export function encodeEntry(id: RequestId, body: EntryBody): Uint8Array {
  switch (body.kind) {
    case 'write':
      return encodeWrite(id, body.request);
    case 'publish':
      return withJson(
        EntryKind.Publish,
        id,
        JSON.stringify({ id: body.publish.id.toString(), name: body.publish.name, clientUrls: body.publish.clientUrls }),
      );
    case 'memberUpdate':
      return withJson(EntryKind.MemberUpdate, id, JSON.stringify({ id: body.update.id.toString(), peerUrls: body.update.peerUrls }));
    case 'lease': {
      const payload = encodeLeaseOp(body.op);
      const { out } = header(EntryKind.Lease, id, payload.byteLength);
      out.set(payload, HEADER);
      return out;
    }
  }
}

function encodeWrite(id: RequestId, req: WriteRequest): Uint8Array {
  switch (req.type) {
    case 'put': {
      const p = req.put;
      const { out, dv } = header(EntryKind.Put, id, 13 + p.key.byteLength + p.value.byteLength);
      out[HEADER] = (p.prevKv ? 1 : 0) | (p.ignoreValue ? 2 : 0) | (p.ignoreLease ? 4 : 0);
      dv.setBigInt64(HEADER + 1, p.lease);
      dv.setUint32(HEADER + 9, p.key.byteLength);
      out.set(p.key, HEADER + 13);
      out.set(p.value, HEADER + 13 + p.key.byteLength);
      return out;
    }
    case 'deleteRange':
      return withJson(EntryKind.DeleteRange, id, DeleteRangeRequestCodec.write(req.deleteRange));
    case 'txn':
      return withJson(EntryKind.Txn, id, TxnRequestCodec.write(req.txn));
    case 'compaction':
      return withJson(EntryKind.Compaction, id, CompactionRequestCodec.write(req.compaction));
  }
}

/** Decodes a 'normal' entry's data; null for raft's empty no-op entries. */
export function decodeEntry(data: Uint8Array): DecodedEntry | null {
  if (data.byteLength === 0) return null;
  if (data.byteLength < HEADER || data[0] !== VERSION) throw new Error('server: malformed log entry');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const id = { member: dv.getBigUint64(2), seq: dv.getBigUint64(10) };
  const payload = data.subarray(HEADER);
  const json = (): Record<string, unknown> => {
    const v = parseJsonBody(td.decode(payload));
    if (v === null || typeof v !== 'object') throw new Error('server: malformed log entry payload');
    return v as Record<string, unknown>;
  };
  switch (data[1]) {
    case EntryKind.Put: {
      if (payload.byteLength < 13) throw new Error('server: malformed put entry');
      const flags = payload[0]!;
      const lease = dv.getBigInt64(HEADER + 1);
      const keyLen = dv.getUint32(HEADER + 9);
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
