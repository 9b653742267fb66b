import {
  ClusterPath,
  decodeMemberAddResponse,
  decodeMemberListResponse,
  decodeMemberPromoteResponse,
  decodeMemberRemoveResponse,
  decodeMemberUpdateResponse,
  decodeMoveLeaderResponse,
  decodeStatusResponse,
  encodeMemberAddRequest,
  encodeMemberListRequest,
  encodeMemberPromoteRequest,
  encodeMemberRemoveRequest,
  encodeMemberUpdateRequest,
  encodeMoveLeaderRequest,
  type MemberAddResponse,
  type MemberListResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateResponse,
  type MoveLeaderResponse,
  type StatusResponse,
} from '../wire/index.js';
import { HttpTransport, type ClientOptions } from './http.js';

const UINT64_MAX = 2n ** 64n - 1n;

function checkId(what: string, id: bigint): void {
  if (typeof id !== 'bigint' || id < 0n || id > UINT64_MAX) {
    throw new TypeError(`${what} must be a bigint in [0, 2^64-1], got ${String(id)}`);
  }
}

function checkUrls(urls: readonly string[]): void {
  if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) throw new TypeError('peerUrls must be an array of strings');
}

/**
 * Membership and maintenance of a cluster over etcd's v3 JSON API (etcd clientv3's Cluster plus
 * the Maintenance calls a cluster operator needs). Every method resolves with the decoded response
 * or throws KeywardError, with `code` naming etcd's error (`MEMBER_NOT_FOUND`,
 * `PEER_URL_EXISTS`, ...). Member IDs are bigint: they use all 64 bits.
 *
 * Only `memberList` and `status` are retried on another endpoint. A membership change that timed
 * out may have been applied; repeating it could add a second member or fail confusingly, so the
 * caller decides after a fresh `memberList`.
 */
export class ClusterClient {
  private readonly http: HttpTransport;

  constructor(opts: ClientOptions) {
    this.http = new HttpTransport(opts);
  }

  /** The endpoints this client was given, without trailing slashes. */
  get endpoints(): readonly string[] {
    return this.http.endpoints;
  }

  /**
   * Lists the members. `linearizable` asks the member to confirm the list with the leader first
   * (etcd 3.5's option); by default the answering member's applied view is returned.
   */
  async memberList(opts: { linearizable?: boolean; endpoint?: string } = {}): Promise<MemberListResponse> {
    const body = encodeMemberListRequest({ linearizable: opts.linearizable ?? false });
    return decodeMemberListResponse(await this.http.call(ClusterPath.MEMBER_LIST, body, true, opts.endpoint));
  }

  /** Adds a member (a non-voting learner with `isLearner`). The cluster chooses its ID. */
  async memberAdd(peerUrls: readonly string[], opts: { isLearner?: boolean } = {}): Promise<MemberAddResponse> {
    checkUrls(peerUrls);
    const body = encodeMemberAddRequest({ peerUrls: [...peerUrls], isLearner: opts.isLearner ?? false });
    return decodeMemberAddResponse(await this.http.call(ClusterPath.MEMBER_ADD, body, false));
  }

  async memberRemove(id: bigint): Promise<MemberRemoveResponse> {
    checkId('member ID', id);
    return decodeMemberRemoveResponse(await this.http.call(ClusterPath.MEMBER_REMOVE, encodeMemberRemoveRequest({ id }), false));
  }

  /** Replaces the peer URLs of a member. */
  async memberUpdate(id: bigint, peerUrls: readonly string[]): Promise<MemberUpdateResponse> {
    checkId('member ID', id);
    checkUrls(peerUrls);
    const body = encodeMemberUpdateRequest({ id, peerUrls: [...peerUrls] });
    return decodeMemberUpdateResponse(await this.http.call(ClusterPath.MEMBER_UPDATE, body, false));
  }

  /** Makes a learner a voting member; refused while its log is behind the leader's. */
  async memberPromote(id: bigint): Promise<MemberPromoteResponse> {
    checkId('member ID', id);
    return decodeMemberPromoteResponse(await this.http.call(ClusterPath.MEMBER_PROMOTE, encodeMemberPromoteRequest({ id }), false));
  }

  /**
   * Asks the leader to hand leadership to `targetId`. etcd answers `NOT_LEADER` when the request
   * reaches a follower, so pass the leader's `endpoint` (find it with `status`).
   */
  async moveLeader(targetId: bigint, endpoint?: string): Promise<MoveLeaderResponse> {
    checkId('target ID', targetId);
    const body = encodeMoveLeaderRequest({ targetId });
    return decodeMoveLeaderResponse(await this.http.call(ClusterPath.MOVE_LEADER, body, false, endpoint));
  }

  /** The status of one member: `endpoint`, or the first endpoint that answers. */
  async status(endpoint?: string): Promise<StatusResponse> {
    return decodeStatusResponse(await this.http.call('/v3/maintenance/status', {}, true, endpoint));
  }
}
