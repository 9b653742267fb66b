import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResponseHeader, decodeStatusResponse, parseJsonBody, schema } from '../../src/wire/index.js';
import { assertDecodeError } from './helpers.js';

test('uint64 fields refuse negatives and values beyond 2^64-1; bigint ones take the full range', () => {
  const h = (body: string) => decodeResponseHeader(parseJsonBody(body));
  assert.equal(h('{"cluster_id":"18446744073709551615"}').clusterId, 18446744073709551615n);
  assert.equal(h('{"member_id":18446744073709551615}').memberId, 18446744073709551615n);
  assertDecodeError(() => h('{"cluster_id":"18446744073709551616"}'), 'RANGE', 'json: cannot unmarshal number 18446744073709551616 into Go value of type uint64', 'cluster_id');
  assertDecodeError(() => h('{"cluster_id":-1}'), 'RANGE', 'json: cannot unmarshal number -1 into Go value of type uint64', 'cluster_id');
  assertDecodeError(() => h('{"raft_term":"-2"}'), 'RANGE', /uint64/, 'raft_term');
  assertDecodeError(() => h('{"raft_term":"9007199254740992"}'), 'RANGE', /beyond 2\^53-1/, 'raft_term');
  assertDecodeError(() => decodeStatusResponse(parseJsonBody('{"raftIndex":"-1"}')), 'RANGE', undefined, 'raftIndex');
  assertDecodeError(() => decodeStatusResponse(parseJsonBody('{"errors":[1]}')), 'TYPE', 'json: cannot unmarshal number into Go value of type string', 'errors[0]');
  assert.deepEqual(decodeStatusResponse(parseJsonBody('{"errors":["a",null]}')).errors, ['a', '']);
});

// Other modules declare their messages (lease, auth, watch) with the same toolkit; this pins the
// behaviour they rely on, with etcd's upper-case proto names as the awkward case.
interface LeaseGrant {
  ttl: number;
  id: bigint;
}
const LeaseGrantRequest = schema.message<LeaseGrant>('etcdserverpb.LeaseGrantRequest', {
  ttl: ['TTL', schema.int64],
  id: ['ID', schema.int64Big],
});

test('schema.message: upper-case proto names are their own camel name; other spellings are unknown', () => {
  assert.deepEqual(LeaseGrantRequest.decode(parseJsonBody('{"TTL":60,"ID":1000}')), { ttl: 60, id: 1000n });
  // API.md section 2: "ttl" is not TTL.
  assert.deepEqual(LeaseGrantRequest.decode(parseJsonBody('{"ttl":60,"id":5}')), { ttl: 0, id: 0n });
  assert.deepEqual(LeaseGrantRequest.decode(parseJsonBody('{"ID":-5}')), { ttl: 0, id: -5n });
  assert.deepEqual(LeaseGrantRequest.encode({ ttl: 60, id: 7587869402553040003n }), { TTL: '60', ID: '7587869402553040003' });
  assert.equal(LeaseGrantRequest.write({ ttl: -1, id: 0n }), '{"TTL":"-1"}');
});

test('schema.enumeration: names out, names or numbers in', () => {
  const PermType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
  type PermType = (typeof PermType)[keyof typeof PermType];
  const perm = schema.enumeration<PermType>('authpb.Permission_Type', PermType);
  const Permission = schema.message<{ permType: PermType; key: Uint8Array }>('authpb.Permission', {
    permType: ['permType', perm],
    key: ['key', schema.bytes],
  });
  assert.equal(Permission.decode(parseJsonBody('{"permType":"READWRITE"}')).permType, 2);
  assert.equal(Permission.decode(parseJsonBody('{"permType":1}')).permType, 1);
  // API.md: a READ permission has no permType in output.
  assert.equal(Permission.write({ permType: 0, key: new Uint8Array([97]) }), '{"key":"YQ=="}');
  assert.equal(Permission.write({ permType: 2, key: new Uint8Array(0) }), '{"permType":"READWRITE"}');
  assertDecodeError(() => Permission.decode(parseJsonBody('{"permType":"ADMIN"}')), 'ENUM', 'unknown value "ADMIN" for enum authpb.Permission_Type');
  assert.throws(() => perm.encode(7 as PermType), TypeError);
});
