import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClusterPath,
  decodeMember,
  decodeMemberAddRequest,
  decodeMemberAddResponse,
  decodeMemberListRequest,
  decodeMemberListResponse,
  decodeMemberPromoteRequest,
  decodeMemberPromoteResponse,
  decodeMemberRemoveRequest,
  decodeMemberRemoveResponse,
  decodeMemberUpdateRequest,
  decodeMemberUpdateResponse,
  decodeMoveLeaderRequest,
  decodeMoveLeaderResponse,
  encodeMember,
  encodeMemberAddRequest,
  encodeMemberAddResponse,
  encodeMemberAddResponseText,
  encodeMemberListRequest,
  encodeMemberListResponse,
  encodeMemberListResponseText,
  encodeMemberPromoteRequest,
  encodeMemberPromoteResponse,
  encodeMemberPromoteResponseText,
  encodeMemberRemoveRequest,
  encodeMemberRemoveResponse,
  encodeMemberRemoveResponseText,
  encodeMemberText,
  encodeMemberUpdateRequest,
  encodeMemberUpdateResponse,
  encodeMemberUpdateResponseText,
  encodeMoveLeaderRequest,
  encodeMoveLeaderResponse,
  encodeMoveLeaderResponseText,
  EtcdClusterError,
  EtcdError,
  GrpcCode,
  parseJsonBody,
  type Member,
  type ResponseHeader,
} from '../../src/wire/index.js';
import { assertDecodeError, Rng, randomUint64Big } from './helpers.js';

const CLUSTER = 15118495548433857066n;
const MEMBER = 13668033151171901709n;
/** Cluster RPCs leave the revision unset: the header has no `revision` (API.md section 3). */
const header: ResponseHeader = { clusterId: CLUSTER, memberId: MEMBER, revision: 0, raftTerm: 2 };
const H = '{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","raft_term":"2"}';
const UINT64_MAX = 2n ** 64n - 1n;

const memberA: Member = {
  id: MEMBER,
  name: 'a',
  peerUrls: ['http://127.0.0.1:23801'],
  clientUrls: ['http://127.0.0.1:23791'],
  isLearner: false,
};
const A = '{"ID":"13668033151171901709","name":"a","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]}';

/** The object encoder, the text encoder and the client decoder must all agree with etcd's text. */
function golden<T>(value: T, text: string, encode: (v: T) => unknown, encodeText: (v: T) => string, decode: (json: unknown) => T): void {
  assert.equal(JSON.stringify(encode(value)), text);
  assert.equal(encodeText(value), text);
  assert.deepEqual(decode(parseJsonBody(text)), value);
}

test('member list response: API.md section 8, byte for byte (no revision in the header)', () => {
  golden(
    { header, members: [memberA] },
    `{"header":${H},"members":[${A}]}`,
    encodeMemberListResponse,
    encodeMemberListResponseText,
    decodeMemberListResponse,
  );
});

test('a learner adds "isLearner":true last; an unstarted member has no name and no clientURLs', () => {
  const learner: Member = { ...memberA, id: 1n, name: 'b', isLearner: true };
  golden(
    learner,
    '{"ID":"1","name":"b","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"],"isLearner":true}',
    encodeMember,
    encodeMemberText,
    decodeMember,
  );
  const unstarted: Member = { id: UINT64_MAX, name: '', peerUrls: ['http://10.0.0.4:2380', 'http://10.0.0.5:2380'], clientUrls: [], isLearner: false };
  golden(
    unstarted,
    '{"ID":"18446744073709551615","peerURLs":["http://10.0.0.4:2380","http://10.0.0.5:2380"]}',
    encodeMember,
    encodeMemberText,
    decodeMember,
  );
});

test('member add response: header, the new member, then the full list', () => {
  const added: Member = { id: 10501334649042878790n, name: '', peerUrls: ['http://127.0.0.1:23802'], clientUrls: [], isLearner: true };
  const N = '{"ID":"10501334649042878790","peerURLs":["http://127.0.0.1:23802"],"isLearner":true}';
  golden(
    { header, member: added, members: [memberA, added] },
    `{"header":${H},"member":${N},"members":[${A},${N}]}`,
    encodeMemberAddResponse,
    encodeMemberAddResponseText,
    decodeMemberAddResponse,
  );
});

test('remove, update and promote responses: header and members; move leader: header only', () => {
  const res = { header, members: [memberA] };
  const text = `{"header":${H},"members":[${A}]}`;
  golden(res, text, encodeMemberRemoveResponse, encodeMemberRemoveResponseText, decodeMemberRemoveResponse);
  golden(res, text, encodeMemberUpdateResponse, encodeMemberUpdateResponseText, decodeMemberUpdateResponse);
  golden(res, text, encodeMemberPromoteResponse, encodeMemberPromoteResponseText, decodeMemberPromoteResponse);
  // Removing the last member would leave none: the list is then omitted, as any empty list.
  golden({ header, members: [] }, `{"header":${H}}`, encodeMemberRemoveResponse, encodeMemberRemoveResponseText, decodeMemberRemoveResponse);
  golden({ header }, `{"header":${H}}`, encodeMoveLeaderResponse, encodeMoveLeaderResponseText, decodeMoveLeaderResponse);
});

test('a header is always written, even an empty one, and a revision is written when set', () => {
  const empty: ResponseHeader = { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 };
  assert.equal(encodeMoveLeaderResponseText({ header: empty }), '{"header":{}}');
  assert.equal(
    encodeMemberListResponseText({ header: { ...header, revision: 7 }, members: [] }),
    '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"7","raft_term":"2"}}',
  );
});

test('requests: API.md section 8 bodies decode; IDs as numbers or decimal strings, exact over 64 bits', () => {
  assert.deepEqual(decodeMemberListRequest(parseJsonBody('{}')), { linearizable: false });
  assert.deepEqual(decodeMemberListRequest(parseJsonBody('')), { linearizable: false });
  assert.deepEqual(decodeMemberListRequest(parseJsonBody('{"linearizable":true}')), { linearizable: true });
  assert.deepEqual(decodeMemberAddRequest(parseJsonBody('{"peerURLs":["http://127.0.0.1:23802"],"isLearner":true}')), {
    peerUrls: ['http://127.0.0.1:23802'],
    isLearner: true,
  });
  assert.deepEqual(decodeMemberAddRequest(parseJsonBody('{"peerURLs":["http://a:1","https://b:2"]}')), {
    peerUrls: ['http://a:1', 'https://b:2'],
    isLearner: false,
  });
  assert.deepEqual(decodeMemberRemoveRequest(parseJsonBody('{"ID":1002}')), { id: 1002n });
  assert.deepEqual(decodeMemberRemoveRequest(parseJsonBody('{"ID":"1002"}')), { id: 1002n });
  // A 20-digit number literal keeps every digit (parseJsonBody hands it over as text).
  assert.deepEqual(decodeMemberRemoveRequest(parseJsonBody('{"ID":13668033151171901709}')), { id: MEMBER });
  assert.deepEqual(decodeMemberRemoveRequest(parseJsonBody('{"ID":"18446744073709551615"}')), { id: UINT64_MAX });
  assert.deepEqual(decodeMemberUpdateRequest(parseJsonBody('{"ID":"13668033151171901709","peerURLs":["http://127.0.0.1:23809"]}')), {
    id: MEMBER,
    peerUrls: ['http://127.0.0.1:23809'],
  });
  assert.deepEqual(decodeMemberPromoteRequest(parseJsonBody('{"ID":"9"}')), { id: 9n });
  assert.deepEqual(decodeMoveLeaderRequest(parseJsonBody('{"targetID":"13668033151171901709"}')), { targetId: MEMBER });
  assert.deepEqual(decodeMoveLeaderRequest(parseJsonBody('{}')), { targetId: 0n });
});

test('only the proto spellings are fields: `id`, `peer_urls`, `is_learner`, `target_id` are unknown and ignored', () => {
  assert.deepEqual(decodeMemberRemoveRequest(parseJsonBody('{"id":5}')), { id: 0n });
  assert.deepEqual(decodeMemberAddRequest(parseJsonBody('{"peer_urls":["http://a:1"],"is_learner":true}')), { peerUrls: [], isLearner: false });
  assert.deepEqual(decodeMoveLeaderRequest(parseJsonBody('{"target_id":5,"targetId":6}')), { targetId: 0n });
  // null means the default, for a field and for a list element (as jsonpb).
  assert.deepEqual(decodeMemberUpdateRequest(parseJsonBody('{"ID":null,"peerURLs":null}')), { id: 0n, peerUrls: [] });
  assert.deepEqual(decodeMemberAddRequest(parseJsonBody('{"peerURLs":[null]}')), { peerUrls: [''], isLearner: false });
});

test('malformed IDs: not a number, negative, beyond uint64, fractional, wrong JSON type', () => {
  const remove = (body: string) => decodeMemberRemoveRequest(parseJsonBody(body));
  assertDecodeError(() => remove('{"ID":"abc"}'), 'TYPE', /invalid use of ,string struct tag, trying to unmarshal "abc" into uint64/, 'ID');
  assertDecodeError(() => remove('{"ID":"0x10"}'), 'TYPE', undefined, 'ID');
  assertDecodeError(() => remove('{"ID":""}'), 'TYPE', undefined, 'ID');
  assertDecodeError(() => remove('{"ID":-1}'), 'RANGE', 'json: cannot unmarshal number -1 into Go value of type uint64', 'ID');
  assertDecodeError(() => remove('{"ID":"-1"}'), 'RANGE', undefined, 'ID');
  assertDecodeError(() => remove('{"ID":"-18446744073709551615"}'), 'RANGE', undefined, 'ID');
  assertDecodeError(
    () => remove('{"ID":18446744073709551616}'),
    'RANGE',
    'json: cannot unmarshal number 18446744073709551616 into Go value of type uint64',
    'ID',
  );
  assertDecodeError(() => remove('{"ID":"99999999999999999999999"}'), 'RANGE', undefined, 'ID');
  assertDecodeError(() => remove('{"ID":1.5}'), 'TYPE', 'json: cannot unmarshal number 1.5 into Go value of type uint64', 'ID');
  assertDecodeError(() => remove('{"ID":1e3}'), 'TYPE', undefined, 'ID');
  assertDecodeError(() => remove('{"ID":true}'), 'TYPE', 'json: cannot unmarshal bool into Go value of type uint64', 'ID');
  assertDecodeError(() => remove('{"ID":[1]}'), 'TYPE', undefined, 'ID');
  assertDecodeError(() => decodeMemberPromoteRequest(parseJsonBody('{"ID":{}}')), 'TYPE', undefined, 'ID');
  assertDecodeError(() => decodeMemberUpdateRequest(parseJsonBody('{"ID":-7,"peerURLs":["http://a:1"]}')), 'RANGE', undefined, 'ID');
  assertDecodeError(() => decodeMoveLeaderRequest(parseJsonBody('{"targetID":"-2"}')), 'RANGE', undefined, 'targetID');
  assertDecodeError(() => decodeMoveLeaderRequest(parseJsonBody('{"targetID":"x"}')), 'TYPE', undefined, 'targetID');
});

test('malformed URL lists and flags: non-string URLs, a string for a list, a string for a bool', () => {
  const add = (body: string) => decodeMemberAddRequest(parseJsonBody(body));
  assertDecodeError(() => add('{"peerURLs":[1]}'), 'TYPE', 'json: cannot unmarshal number into Go value of type string', 'peerURLs[0]');
  assertDecodeError(() => add('{"peerURLs":["http://a:1",{"url":"http://b:2"}]}'), 'TYPE', undefined, 'peerURLs[1]');
  assertDecodeError(() => add('{"peerURLs":[["http://a:1"]]}'), 'TYPE', undefined, 'peerURLs[0]');
  assertDecodeError(() => add('{"peerURLs":[true]}'), 'TYPE', undefined, 'peerURLs[0]');
  assertDecodeError(() => add('{"peerURLs":"http://a:1"}'), 'TYPE', 'json: cannot unmarshal string into Go value of type []json.RawMessage', 'peerURLs');
  assertDecodeError(() => add('{"isLearner":"true"}'), 'TYPE', 'json: cannot unmarshal string into Go value of type bool', 'isLearner');
  assertDecodeError(() => add('{"isLearner":1}'), 'TYPE', undefined, 'isLearner');
  assertDecodeError(() => decodeMemberUpdateRequest(parseJsonBody('{"ID":"1","peerURLs":[2]}')), 'TYPE', undefined, 'peerURLs[0]');
  assertDecodeError(() => decodeMemberListRequest(parseJsonBody('{"linearizable":"yes"}')), 'TYPE', undefined, 'linearizable');
  assertDecodeError(() => add('[]'), 'TYPE', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
  assertDecodeError(() => add('{"peerURLs":['), 'SYNTAX');
});

test('malformed responses are refused by the client decoders too', () => {
  assertDecodeError(() => decodeMemberListResponse(parseJsonBody('{"members":[{"ID":"-1"}]}')), 'RANGE', undefined, 'members[0].ID');
  assertDecodeError(() => decodeMemberListResponse(parseJsonBody('{"members":[{"clientURLs":[7]}]}')), 'TYPE', undefined, 'members[0].clientURLs[0]');
  assertDecodeError(() => decodeMemberAddResponse(parseJsonBody('{"member":{"name":5}}')), 'TYPE', undefined, 'member.name');
  assertDecodeError(() => decodeMemberListResponse(parseJsonBody('{"members":{}}')), 'TYPE', undefined, 'members');
  assertDecodeError(() => decodeMoveLeaderResponse(parseJsonBody('{"header":{"member_id":"x"}}')), 'TYPE', undefined, 'header.member_id');
});

test('client encoders: defaults left out, IDs as decimal strings', () => {
  assert.equal(JSON.stringify(encodeMemberListRequest({ linearizable: false })), '{}');
  assert.equal(JSON.stringify(encodeMemberListRequest({ linearizable: true })), '{"linearizable":true}');
  assert.equal(
    JSON.stringify(encodeMemberAddRequest({ peerUrls: ['http://127.0.0.1:23802'], isLearner: true })),
    '{"peerURLs":["http://127.0.0.1:23802"],"isLearner":true}',
  );
  assert.equal(JSON.stringify(encodeMemberAddRequest({ peerUrls: ['http://a:1'], isLearner: false })), '{"peerURLs":["http://a:1"]}');
  assert.equal(JSON.stringify(encodeMemberRemoveRequest({ id: UINT64_MAX })), '{"ID":"18446744073709551615"}');
  assert.equal(JSON.stringify(encodeMemberUpdateRequest({ id: 1n, peerUrls: ['http://a:1'] })), '{"ID":"1","peerURLs":["http://a:1"]}');
  assert.equal(JSON.stringify(encodeMemberPromoteRequest({ id: MEMBER })), '{"ID":"13668033151171901709"}');
  assert.equal(JSON.stringify(encodeMoveLeaderRequest({ targetId: MEMBER })), '{"targetID":"13668033151171901709"}');
});

test('round trip: random members through both encoders and back', () => {
  const rng = new Rng(8);
  const url = (): string => rng.pick(['http://127.0.0.1:2380', 'https://[::1]:2380', 'http://infra1:2380', 'unix://x "q"\n', '']);
  const member = (): Member => ({
    id: randomUint64Big(rng),
    name: rng.pick(['', 'infra1', 'é "quoted" \u2028']),
    peerUrls: Array.from({ length: rng.int(3) }, url),
    clientUrls: Array.from({ length: rng.int(3) }, url),
    isLearner: rng.bool(),
  });
  for (let i = 0; i < 300; i++) {
    const res = {
      header: { clusterId: randomUint64Big(rng), memberId: randomUint64Big(rng), revision: 0, raftTerm: rng.int(1000) },
      member: member(),
      members: Array.from({ length: rng.int(5) }, member),
    };
    const text = encodeMemberAddResponseText(res);
    assert.equal(text, JSON.stringify(encodeMemberAddResponse(res)));
    assert.deepEqual(decodeMemberAddResponse(parseJsonBody(text)), res);
    const req = { id: randomUint64Big(rng), peerUrls: res.member.peerUrls };
    assert.deepEqual(decodeMemberUpdateRequest(parseJsonBody(JSON.stringify(encodeMemberUpdateRequest(req)))), req);
  }
});

test('cluster errors: etcd codes and messages, none shared with the KV table; paths as etcd 3.4 binds them', () => {
  assert.deepEqual(EtcdClusterError.MEMBER_NOT_FOUND, { code: GrpcCode.NOT_FOUND, message: 'etcdserver: member not found' });
  assert.deepEqual(EtcdClusterError.PEER_URL_EXISTS, { code: 9, message: 'etcdserver: Peer URLs already exists' });
  assert.deepEqual(EtcdClusterError.MEMBER_BAD_URLS, { code: 3, message: 'etcdserver: given member URLs are invalid' });
  assert.equal(EtcdClusterError.BAD_LEADER_TRANSFEREE.code, 9);
  const kv = new Set<string>(Object.values(EtcdError).map((e) => e.message));
  const cluster = Object.values(EtcdClusterError).map((e) => e.message);
  assert.equal(new Set(cluster).size, cluster.length);
  for (const m of cluster) assert.ok(!kv.has(m), m);
  assert.equal(ClusterPath.MOVE_LEADER, '/v3/maintenance/transfer-leadership');
  assert.equal(ClusterPath.MEMBER_PROMOTE, '/v3/cluster/member/promote');
});
