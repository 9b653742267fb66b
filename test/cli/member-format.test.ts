import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatEndpointStatus,
  formatMemberAdd,
  formatMemberList,
  formatTable,
  humanBytes,
  parseMemberId,
  parsePeerUrls,
} from '../../src/cli/member-commands.js';
import { UsageError } from '../../src/cli/kv-commands.js';
import type { Member, ResponseHeader, StatusResponse } from '../../src/wire/index.js';

// Pure tests of the cluster commands' parsing and printing: etcdctl 3.4's formats.

const header: ResponseHeader = { clusterId: 0x8c4281cc65c7b112n, memberId: 0x8e9e05c52164694dn, revision: 0, raftTerm: 2 };
const infra1: Member = {
  id: 0x8e9e05c52164694dn,
  name: 'infra1',
  peerUrls: ['http://127.0.0.1:2380'],
  clientUrls: ['http://127.0.0.1:2379'],
  isLearner: false,
};
const infra2: Member = {
  id: 0x91bc3c398fb3c146n,
  name: 'infra2',
  peerUrls: ['http://127.0.0.1:22380'],
  clientUrls: ['http://127.0.0.1:22379', 'http://10.0.0.2:22379'],
  isLearner: false,
};
const unstarted: Member = { id: 0xfd422379fda50e48n, name: '', peerUrls: ['http://127.0.0.1:32380'], clientUrls: [], isLearner: true };

test('member IDs are hexadecimal as etcdctl takes them; anything else is a usage error', () => {
  assert.equal(parseMemberId('8e9e05c52164694d'), 0x8e9e05c52164694dn);
  assert.equal(parseMemberId('FFFFFFFFFFFFFFFF'), 2n ** 64n - 1n);
  assert.equal(parseMemberId('1'), 1n);
  for (const bad of ['', '0x10', '-1', 'xyz', '1ffffffffffffffff', ' 1', '10501334649042878790']) {
    assert.throws(() => parseMemberId(bad), UsageError, bad);
  }
});

test('--peer-urls: comma-separated, trimmed, at least one, each a URL', () => {
  assert.deepEqual(parsePeerUrls('http://127.0.0.1:2380'), ['http://127.0.0.1:2380']);
  assert.deepEqual(parsePeerUrls(' http://a:1 , https://b:2,'), ['http://a:1', 'https://b:2']);
  assert.throws(() => parsePeerUrls(undefined), /member peer urls not provided/);
  assert.throws(() => parsePeerUrls(' , '), /member peer urls not provided/);
  assert.throws(() => parsePeerUrls('127.0.0.1 2380'), UsageError);
});

test('DB sizes print like etcdctl (SI units, one decimal below 10)', () => {
  assert.equal(humanBytes(0), '0 B');
  assert.equal(humanBytes(9), '9 B');
  assert.equal(humanBytes(10), '10 B');
  assert.equal(humanBytes(999), '999 B');
  assert.equal(humanBytes(1000), '1.0 kB');
  assert.equal(humanBytes(20480), '20 kB'); // 20.5 kB, rounded half to even as Go's %.0f
  assert.equal(humanBytes(21500), '22 kB');
  assert.equal(humanBytes(21449), '21 kB');
  assert.equal(humanBytes(1_572_864), '1.6 MB');
  assert.equal(humanBytes(999_999), '1.0 MB');
  assert.equal(humanBytes(25 * 1000 ** 3), '25 GB');
});

test('tables: centred upper-case headers, left-aligned cells, every line as wide', () => {
  const t = formatTable(['a', 'Long Header'], [['xyz', '1'], ['', '22']]);
  assert.equal(
    t,
    [
      '+-----+-------------+',
      '|  A  | LONG HEADER |',
      '+-----+-------------+',
      '| xyz | 1           |',
      '|     | 22          |',
      '+-----+-------------+',
      '',
    ].join('\n'),
  );
  assert.equal(formatTable(['x'], []), '+---+\n| X |\n+---+\n+---+\n');
});

test('member list: etcdctl simple lines (hex ID, started|unstarted, name, peer URLs, client URLs, is learner)', () => {
  assert.equal(
    formatMemberList([infra1, infra2, unstarted], 'simple'),
    '8e9e05c52164694d, started, infra1, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n' +
      '91bc3c398fb3c146, started, infra2, http://127.0.0.1:22380, http://127.0.0.1:22379,http://10.0.0.2:22379, false\n' +
      'fd422379fda50e48, unstarted, , http://127.0.0.1:32380, , true\n',
  );
  // Leading zeros are not printed (%x).
  assert.equal(formatMemberList([{ ...infra1, id: 0xan }], 'simple'), 'a, started, infra1, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n');
  assert.equal(formatMemberList([], 'simple'), '');
});

test('member list: table', () => {
  assert.equal(
    formatMemberList([infra1, unstarted], 'table'),
    [
      '+------------------+-----------+--------+------------------------+-----------------------+------------+',
      '|        ID        |  STATUS   |  NAME  |       PEER ADDRS       |     CLIENT ADDRS      | IS LEARNER |',
      '+------------------+-----------+--------+------------------------+-----------------------+------------+',
      '| 8e9e05c52164694d | started   | infra1 | http://127.0.0.1:2380  | http://127.0.0.1:2379 | false      |',
      '| fd422379fda50e48 | unstarted |        | http://127.0.0.1:32380 |                       | true       |',
      '+------------------+-----------+--------+------------------------+-----------------------+------------+',
      '',
    ].join('\n'),
  );
});

test('member add: confirmation, then the KEYWARD_ settings the new member starts with', () => {
  const added: Member = { id: 0xced000fda4d05edfn, name: '', peerUrls: ['http://127.0.0.1:42380'], clientUrls: [], isLearner: false };
  assert.equal(
    formatMemberAdd({ header, member: added, members: [infra1, infra2, added] }, 'infra4', ['http://127.0.0.1:42380']),
    'Member ced000fda4d05edf added to cluster 8c4281cc65c7b112\n' +
      '\n' +
      'KEYWARD_NAME="infra4"\n' +
      'KEYWARD_INITIAL_CLUSTER="infra1=http://127.0.0.1:2380,infra2=http://127.0.0.1:22380,infra4=http://127.0.0.1:42380"\n' +
      'KEYWARD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:42380"\n' +
      'KEYWARD_INITIAL_CLUSTER_STATE="existing"\n',
  );
  // A learner says so; a list that lacks the new member still names it; IDs pad to 16 columns.
  const learner: Member = { ...added, id: 0x5edfn, peerUrls: ['http://a:1', 'http://b:2'], isLearner: true };
  const text = formatMemberAdd({ header: { ...header, clusterId: 0x12n }, member: learner, members: [infra1] }, 'n "q"', learner.peerUrls);
  assert.equal(
    text,
    'Member             5edf added as learner to cluster               12\n' +
      '\n' +
      'KEYWARD_NAME="n \\"q\\""\n' +
      'KEYWARD_INITIAL_CLUSTER="infra1=http://127.0.0.1:2380,n \\"q\\"=http://a:1,n \\"q\\"=http://b:2"\n' +
      'KEYWARD_INITIAL_ADVERTISE_PEER_URLS="http://a:1,http://b:2"\n' +
      'KEYWARD_INITIAL_CLUSTER_STATE="existing"\n',
  );
});

const status = (memberId: bigint, leader: bigint, over: Partial<StatusResponse> = {}): StatusResponse => ({
  header: { ...header, memberId, revision: 5 },
  version: '3.4.0',
  dbSize: 20480,
  leader,
  raftIndex: 12,
  raftTerm: 3,
  raftAppliedIndex: 12,
  errors: [],
  dbSizeInUse: 16384,
  isLearner: false,
  ...over,
});

test('endpoint status: simple rows, a table, and JSON as etcdctl prints them', () => {
  const list = [
    { endpoint: 'http://127.0.0.1:2379', status: status(infra1.id, infra1.id) },
    { endpoint: 'http://127.0.0.1:22379', status: status(infra2.id, infra1.id, { raftAppliedIndex: 11, errors: ['memberID:1 alarm:NOSPACE ', 'x'] }) },
  ];
  assert.equal(
    formatEndpointStatus(list, 'simple'),
    'http://127.0.0.1:2379, 8e9e05c52164694d, 3.4.0, 20 kB, true, false, 3, 12, 12, \n' +
      'http://127.0.0.1:22379, 91bc3c398fb3c146, 3.4.0, 20 kB, false, false, 3, 12, 11, memberID:1 alarm:NOSPACE , x\n',
  );
  assert.equal(
    formatEndpointStatus(list, 'table'),
    [
      '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+------------------------------+',
      '|        ENDPOINT        |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX |            ERRORS            |',
      '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+------------------------------+',
      '| http://127.0.0.1:2379  | 8e9e05c52164694d | 3.4.0   | 20 kB   | true      | false      | 3         | 12         | 12                 |                              |',
      '| http://127.0.0.1:22379 | 91bc3c398fb3c146 | 3.4.0   | 20 kB   | false     | false      | 3         | 12         | 11                 | memberID:1 alarm:NOSPACE , x |',
      '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+------------------------------+',
      '',
    ].join('\n'),
  );
  const json = JSON.parse(formatEndpointStatus(list, 'json')) as Array<{ Endpoint: string; Status: { leader: string; raftIndex: string; header: { revision: string } } }>;
  assert.equal(json.length, 2);
  assert.equal(json[1]!.Endpoint, 'http://127.0.0.1:22379');
  assert.equal(json[1]!.Status.leader, infra1.id.toString());
  assert.equal(json[1]!.Status.raftIndex, '12');
  assert.equal(formatEndpointStatus([], 'json'), '[]\n');
});
