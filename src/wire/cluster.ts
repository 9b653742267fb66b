// The cluster API (etcdserverpb.Cluster: /v3/cluster/member/*) and leader transfer
// (etcdserverpb.Maintenance MoveLeader: /v3/maintenance/transfer-leadership), declared as field
// tables like messages.ts and codec.ts. Both directions exist for every message, so the server and
// the TypeScript client read and write them with the same tables.
//
// Field order is the proto field-number order of etcd 3.4's rpc.proto. The proto names of these
// messages are not snake_case: `ID`, `peerURLs`, `clientURLs`, `isLearner`, `targetID` appear in
// JSON exactly so, and lowerCamelCase leaves them unchanged, so there is one accepted spelling each.
// Member IDs are uint64 and held as bigint: they use all 64 bits (API.md section 2). A response
// header from these RPCs carries no revision (API.md section 3); ResponseHeaderCodec omits a zero.

import { ResponseHeaderCodec } from './codec.js';
import { GrpcCode } from './errors.js';
import type { JsonObject } from './json.js';
import type { ResponseHeader } from './messages.js';
import { bool, message, repeated, string, uint64Big } from './schema.js';

// ---------------------------------------------------------------------------------------------
// Decoded forms. As in messages.ts, every field is present after decoding, holding its proto
// default when the JSON left it out.

/**
 * A cluster member. A member that was added but has not started yet has no `name` and no
 * `clientURLs` (it has not published them); etcdctl prints it as "unstarted".
 */
export interface Member {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/**
 * `linearizable` is etcd 3.5's field 1; etcd 3.4's MemberListRequest is empty and ignores it as an
 * unknown field. Keyward reads it, so a 3.5 client asking for a linearizable list gets one.
 */
export interface MemberListRequest {
  linearizable: boolean;
}

export interface MemberListResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface MemberAddRequest {
  peerUrls: string[];
  isLearner: boolean;
}

export interface MemberAddResponse {
  header: ResponseHeader;
  /** The new member, with the ID the cluster chose. Always written, as etcd always sets it. */
  member: Member;
  /** Every member after the addition, the new one included. */
  members: Member[];
}

export interface MemberRemoveRequest {
  id: bigint;
}

export interface MemberRemoveResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface MemberUpdateRequest {
  id: bigint;
  peerUrls: string[];
}

export interface MemberUpdateResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface MemberPromoteRequest {
  id: bigint;
}

export interface MemberPromoteResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface MoveLeaderRequest {
  targetId: bigint;
}

export interface MoveLeaderResponse {
  header: ResponseHeader;
}

/** The HTTP paths of these RPCs, as etcd 3.4's gateway binds them (rpc.proto annotations). */
export const ClusterPath = {
  MEMBER_LIST: '/v3/cluster/member/list',
  MEMBER_ADD: '/v3/cluster/member/add',
  MEMBER_REMOVE: '/v3/cluster/member/remove',
  MEMBER_UPDATE: '/v3/cluster/member/update',
  MEMBER_PROMOTE: '/v3/cluster/member/promote',
  MOVE_LEADER: '/v3/maintenance/transfer-leadership',
} as const;
export type ClusterPath = (typeof ClusterPath)[keyof typeof ClusterPath];

/**
 * The errors of membership changes and leader transfer, by a stable name, with etcd's message and
 * gRPC code verbatim (etcd 3.4 rpctypes; the ones API.md section 4 observed are marked). Kept
 * apart from EtcdError because only these RPCs answer with them; the client knows both tables.
 */
export const EtcdClusterError = {
  /** Observed: member remove / update / promote of an unknown ID. */
  MEMBER_NOT_FOUND: { code: GrpcCode.NOT_FOUND, message: 'etcdserver: member not found' },
  /** Observed: member add (or update) with a peer URL another member already has. */
  PEER_URL_EXISTS: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  /** Observed: member add / update with a URL that does not parse as scheme://host:port. */
  MEMBER_BAD_URLS: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: given member URLs are invalid' },
  /** Observed: promote of a learner whose log is behind the leader's. */
  LEARNER_NOT_READY: {
    code: GrpcCode.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  /** Observed: leader transfer to an ID that is not a voting member. */
  BAD_LEADER_TRANSFEREE: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },
  MEMBER_EXISTS: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  MEMBER_NOT_ENOUGH_STARTED: {
    code: GrpcCode.FAILED_PRECONDITION,
    message: 'etcdserver: re-configuration failed due to not enough started members',
  },
  MEMBER_NOT_LEARNER: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member' },
  TOO_MANY_LEARNERS: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: too many learner members in cluster' },
  /** A leader transfer sent to a member that is not the leader. */
  NOT_LEADER: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
} as const satisfies Record<string, { code: GrpcCode; message: string }>;
export type EtcdClusterErrorName = keyof typeof EtcdClusterError;

// ---------------------------------------------------------------------------------------------
// Tables

const urls = repeated(string);

export const MemberCodec = message<Member>('etcdserverpb.Member', {
  id: ['ID', uint64Big],
  name: ['name', string],
  peerUrls: ['peerURLs', urls],
  clientUrls: ['clientURLs', urls],
  isLearner: ['isLearner', bool],
});

const members = repeated(MemberCodec);

export const MemberListRequestCodec = message<MemberListRequest>('etcdserverpb.MemberListRequest', {
  linearizable: ['linearizable', bool],
});

export const MemberListResponseCodec = message<MemberListResponse>('etcdserverpb.MemberListResponse', {
  header: ['header', ResponseHeaderCodec],
  members: ['members', members],
});

export const MemberAddRequestCodec = message<MemberAddRequest>('etcdserverpb.MemberAddRequest', {
  peerUrls: ['peerURLs', urls],
  isLearner: ['isLearner', bool],
});

export const MemberAddResponseCodec = message<MemberAddResponse>('etcdserverpb.MemberAddResponse', {
  header: ['header', ResponseHeaderCodec],
  member: ['member', MemberCodec],
  members: ['members', members],
});

export const MemberRemoveRequestCodec = message<MemberRemoveRequest>('etcdserverpb.MemberRemoveRequest', {
  id: ['ID', uint64Big],
});

export const MemberRemoveResponseCodec = message<MemberRemoveResponse>('etcdserverpb.MemberRemoveResponse', {
  header: ['header', ResponseHeaderCodec],
  members: ['members', members],
});

export const MemberUpdateRequestCodec = message<MemberUpdateRequest>('etcdserverpb.MemberUpdateRequest', {
  id: ['ID', uint64Big],
  peerUrls: ['peerURLs', urls],
});

export const MemberUpdateResponseCodec = message<MemberUpdateResponse>('etcdserverpb.MemberUpdateResponse', {
  header: ['header', ResponseHeaderCodec],
  members: ['members', members],
});

export const MemberPromoteRequestCodec = message<MemberPromoteRequest>('etcdserverpb.MemberPromoteRequest', {
  id: ['ID', uint64Big],
});

export const MemberPromoteResponseCodec = message<MemberPromoteResponse>('etcdserverpb.MemberPromoteResponse', {
  header: ['header', ResponseHeaderCodec],
  members: ['members', members],
});

export const MoveLeaderRequestCodec = message<MoveLeaderRequest>('etcdserverpb.MoveLeaderRequest', {
  targetId: ['targetID', uint64Big],
});

export const MoveLeaderResponseCodec = message<MoveLeaderResponse>('etcdserverpb.MoveLeaderResponse', {
  header: ['header', ResponseHeaderCodec],
});

// ---------------------------------------------------------------------------------------------
// Server side: requests in (from parseJsonBody), responses out.

export function decodeMemberListRequest(json: unknown): MemberListRequest {
  return MemberListRequestCodec.decode(json);
}
export function decodeMemberAddRequest(json: unknown): MemberAddRequest {
  return MemberAddRequestCodec.decode(json);
}
export function decodeMemberRemoveRequest(json: unknown): MemberRemoveRequest {
  return MemberRemoveRequestCodec.decode(json);
}
export function decodeMemberUpdateRequest(json: unknown): MemberUpdateRequest {
  return MemberUpdateRequestCodec.decode(json);
}
export function decodeMemberPromoteRequest(json: unknown): MemberPromoteRequest {
  return MemberPromoteRequestCodec.decode(json);
}
export function decodeMoveLeaderRequest(json: unknown): MoveLeaderRequest {
  return MoveLeaderRequestCodec.decode(json);
}

export function encodeMember(member: Member): JsonObject {
  return MemberCodec.encode(member);
}
export function encodeMemberListResponse(res: MemberListResponse): JsonObject {
  return MemberListResponseCodec.encode(res);
}
export function encodeMemberAddResponse(res: MemberAddResponse): JsonObject {
  return MemberAddResponseCodec.encode(res);
}
export function encodeMemberRemoveResponse(res: MemberRemoveResponse): JsonObject {
  return MemberRemoveResponseCodec.encode(res);
}
export function encodeMemberUpdateResponse(res: MemberUpdateResponse): JsonObject {
  return MemberUpdateResponseCodec.encode(res);
}
export function encodeMemberPromoteResponse(res: MemberPromoteResponse): JsonObject {
  return MemberPromoteResponseCodec.encode(res);
}
export function encodeMoveLeaderResponse(res: MoveLeaderResponse): JsonObject {
  return MoveLeaderResponseCodec.encode(res);
}

// As JSON text, written straight from the tables. Always equal to JSON.stringify(encodeX(r)).

export function encodeMemberText(member: Member): string {
  return MemberCodec.write(member);
}
export function encodeMemberListResponseText(res: MemberListResponse): string {
  return MemberListResponseCodec.write(res);
}
export function encodeMemberAddResponseText(res: MemberAddResponse): string {
  return MemberAddResponseCodec.write(res);
}
export function encodeMemberRemoveResponseText(res: MemberRemoveResponse): string {
  return MemberRemoveResponseCodec.write(res);
}
export function encodeMemberUpdateResponseText(res: MemberUpdateResponse): string {
  return MemberUpdateResponseCodec.write(res);
}
export function encodeMemberPromoteResponseText(res: MemberPromoteResponse): string {
  return MemberPromoteResponseCodec.write(res);
}
export function encodeMoveLeaderResponseText(res: MoveLeaderResponse): string {
  return MoveLeaderResponseCodec.write(res);
}

// ---------------------------------------------------------------------------------------------
// Client side: requests out, responses in.

export function encodeMemberListRequest(req: MemberListRequest): JsonObject {
  return MemberListRequestCodec.encode(req);
}
export function encodeMemberAddRequest(req: MemberAddRequest): JsonObject {
  return MemberAddRequestCodec.encode(req);
}
export function encodeMemberRemoveRequest(req: MemberRemoveRequest): JsonObject {
  return MemberRemoveRequestCodec.encode(req);
}
export function encodeMemberUpdateRequest(req: MemberUpdateRequest): JsonObject {
  return MemberUpdateRequestCodec.encode(req);
}
export function encodeMemberPromoteRequest(req: MemberPromoteRequest): JsonObject {
  return MemberPromoteRequestCodec.encode(req);
}
export function encodeMoveLeaderRequest(req: MoveLeaderRequest): JsonObject {
  return MoveLeaderRequestCodec.encode(req);
}

export function decodeMember(json: unknown): Member {
  return MemberCodec.decode(json);
}
export function decodeMemberListResponse(json: unknown): MemberListResponse {
  return MemberListResponseCodec.decode(json);
}
export function decodeMemberAddResponse(json: unknown): MemberAddResponse {
  return MemberAddResponseCodec.decode(json);
}
export function decodeMemberRemoveResponse(json: unknown): MemberRemoveResponse {
  return MemberRemoveResponseCodec.decode(json);
}
export function decodeMemberUpdateResponse(json: unknown): MemberUpdateResponse {
  return MemberUpdateResponseCodec.decode(json);
}
export function decodeMemberPromoteResponse(json: unknown): MemberPromoteResponse {
  return MemberPromoteResponseCodec.decode(json);
}
export function decodeMoveLeaderResponse(json: unknown): MoveLeaderResponse {
  return MoveLeaderResponseCodec.decode(json);
}
