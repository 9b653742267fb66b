import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterClient, KeywardError } from '../../src/client/index.js';
import { UsageError } from '../../src/cli/kv-commands.js';
import {
  runEndpointStatus,
  runMemberAdd,
  runMemberList,
  runMemberPromote,
  runMemberRemove,
  runMemberUpdate,
  runMoveLeader,
  type ClusterOutput,
} from '../../src/cli/member-commands.js';
import {
  EtcdClusterError,
  encodeMemberAddResponseText,
  encodeMemberListResponseText,
  encodeMoveLeaderResponseText,
  encodeStatusResponseText,
  errorBody,
  type Member,
  type ResponseHeader,
  type StatusResponse,
} from '../../src/wire/index.js';

// The cluster commands against stub members: small HTTP servers answering etcd's JSON for the
// cluster RPCs, whose server side is not built yet. They check what the client sends (path and
// body) and what the commands print. Status also runs against a real `keyward serve` in
// member-status.test.ts.

interface Seen {
  path: string;
  body: unknown;
}

type Reply = { status: number; text: string };

interface Stub {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function stub(route: (path: string, body: unknown) => Reply | undefined): Promise<Stub> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const body: unknown = data === '' ? undefined : JSON.parse(data);
      seen.push({ path: req.url ?? '', body });
      const r = route(req.url ?? '', body) ?? { status: 404, text: 'Not Found' };
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function capture(format: ClusterOutput['format'] = 'simple'): ClusterOutput & { stdout: string; stderr: string } {
  const out = {
    format,
    stdout: '',
    stderr: '',
    write(s: string) {
      out.stdout += s;
    },
    warn(s: string) {
      out.stderr += s;
    },
  };
  return out;
}

const CLUSTER_ID = 0x8c4281cc65c7b112n;
const header = (memberId: bigint): ResponseHeader => ({ clusterId: CLUSTER_ID, memberId, revision: 0, raftTerm: 2 });
const m1: Member = { id: 0x8e9e05c52164694dn, name: 'infra1', peerUrls: ['http://127.0.0.1:2380'], clientUrls: [], isLearner: false };
const m2: Member = { id: 0x91bc3c398fb3c146n, name: 'infra2', peerUrls: ['http://127.0.0.1:22380'], clientUrls: [], isLearner: false };
const ok = (text: string): Reply => ({ status: 200, text });
const fail = (e: { code: number; message: string }, status: number): Reply => ({ status, text: JSON.stringify(errorBody(e.code, e.message)) });

function statusOf(memberId: bigint, leader: bigint): StatusResponse {
  return {
    header: { ...header(memberId), revision: 9 },
    version: '3.4.0',
    dbSize: 24576,
    leader,
    raftIndex: 40,
    raftTerm: 4,
    raftAppliedIndex: 40,
    errors: [],
    dbSizeInUse: 8192,
    isLearner: false,
  };
}

test('member list: asks linearizably by default, prints etcdctl lines, table and JSON', async () => {
  const s = await stub((path) => (path === '/v3/cluster/member/list' ? ok(encodeMemberListResponseText({ header: header(m1.id), members: [m1, m2] })) : undefined));
  try {
    const cluster = new ClusterClient({ endpoints: [s.url] });
    const out = capture();
    await runMemberList(cluster, out);
    assert.deepEqual(s.seen, [{ path: '/v3/cluster/member/list', body: { linearizable: true } }]);
    assert.equal(out.stdout, '8e9e05c52164694d, started, infra1, http://127.0.0.1:2380, , false\n91bc3c398fb3c146, started, infra2, http://127.0.0.1:22380, , false\n');
    await runMemberList(cluster, out, { consistency: 's' });
    assert.deepEqual(s.seen[1]!.body, {});
    await assert.rejects(runMemberList(cluster, out, { consistency: 'x' }), UsageError);

    const json = capture('json');
    await runMemberList(cluster, json);
    assert.equal(json.stdout, encodeMemberListResponseText({ header: header(m1.id), members: [m1, m2] }) + '\n');
    const table = capture('table');
    await runMemberList(cluster, table);
    assert.match(table.stdout, /^\+-+\+/);
    assert.match(table.stdout, /\| 91bc3c398fb3c146 \| started \| infra2 \|/);
  } finally {
    await s.close();
  }
});

test('member add: sends the peer URLs (and learner flag), prints the KEYWARD_ settings from the returned list', async () => {
  const added: Member = { id: 0xced000fda4d05edfn, name: '', peerUrls: ['http://127.0.0.1:42380'], clientUrls: [], isLearner: true };
  const s = await stub((path) =>
    path === '/v3/cluster/member/add' ? ok(encodeMemberAddResponseText({ header: header(m1.id), member: added, members: [m1, m2, added] })) : undefined,
  );
  try {
    const cluster = new ClusterClient({ endpoints: [s.url] });
    const out = capture();
    await runMemberAdd(cluster, out, 'infra4', { peerUrls: 'http://127.0.0.1:42380', learner: true });
    assert.deepEqual(s.seen, [{ path: '/v3/cluster/member/add', body: { peerURLs: ['http://127.0.0.1:42380'], isLearner: true } }]);
    assert.equal(
      out.stdout,
      'Member ced000fda4d05edf added as learner to cluster 8c4281cc65c7b112\n\n' +
        'KEYWARD_NAME="infra4"\n' +
        'KEYWARD_INITIAL_CLUSTER="infra1=http://127.0.0.1:2380,infra2=http://127.0.0.1:22380,infra4=http://127.0.0.1:42380"\n' +
        'KEYWARD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:42380"\n' +
        'KEYWARD_INITIAL_CLUSTER_STATE="existing"\n',
    );
    // Without --peer-urls nothing is sent.
    await assert.rejects(runMemberAdd(cluster, out, 'infra5', {}), /member peer urls not provided/);
    assert.equal(s.seen.length, 1);
  } finally {
    await s.close();
  }
});

test('member remove / update / promote: hex IDs in, decimal IDs on the wire, etcdctl confirmations out', async () => {
  const s = await stub((path) => (path.startsWith('/v3/cluster/member/') ? ok(encodeMemberListResponseText({ header: header(m1.id), members: [m1] })) : undefined));
  try {
    const cluster = new ClusterClient({ endpoints: [s.url] });
    const out = capture();
    await runMemberRemove(cluster, out, '91bc3c398fb3c146');
    await runMemberUpdate(cluster, out, '8e9e05c52164694d', { peerUrls: 'http://10.0.0.1:2380,http://10.0.0.1:2381' });
    await runMemberPromote(cluster, out, 'a');
    assert.deepEqual(s.seen, [
      { path: '/v3/cluster/member/remove', body: { ID: '10501334649042878790' } },
      { path: '/v3/cluster/member/update', body: { ID: '10276657743932975437', peerURLs: ['http://10.0.0.1:2380', 'http://10.0.0.1:2381'] } },
      { path: '/v3/cluster/member/promote', body: { ID: '10' } },
    ]);
    assert.equal(
      out.stdout,
      'Member 91bc3c398fb3c146 removed from cluster 8c4281cc65c7b112\n' +
        'Member 8e9e05c52164694d updated in cluster 8c4281cc65c7b112\n' +
        'Member                a promoted in cluster 8c4281cc65c7b112\n',
    );
    await assert.rejects(runMemberRemove(cluster, out, '0x12'), UsageError);
    await assert.rejects(runMemberUpdate(cluster, out, '12', { peerUrls: '' }), UsageError);
    assert.equal(s.seen.length, 3);
  } finally {
    await s.close();
  }
});

test("the member's errors come back as KeywardError named by etcd's message", async () => {
  const s = await stub((path) => {
    if (path === '/v3/cluster/member/remove') return fail(EtcdClusterError.MEMBER_NOT_FOUND, 404);
    if (path === '/v3/cluster/member/add') return fail(EtcdClusterError.PEER_URL_EXISTS, 412);
    if (path === '/v3/cluster/member/promote') return fail(EtcdClusterError.LEARNER_NOT_READY, 412);
    return undefined;
  });
  try {
    const cluster = new ClusterClient({ endpoints: [s.url] });
    const out = capture();
    const expect = (code: string, grpc: number, http: number, message: string) => (err: unknown) => {
      assert.ok(err instanceof KeywardError);
      assert.deepEqual([err.code, err.grpcCode, err.httpStatus, err.message], [code, grpc, http, message]);
      return true;
    };
    await assert.rejects(runMemberRemove(cluster, out, '1'), expect('MEMBER_NOT_FOUND', 5, 404, 'etcdserver: member not found'));
    await assert.rejects(runMemberAdd(cluster, out, 'x', { peerUrls: 'http://a:1' }), expect('PEER_URL_EXISTS', 9, 412, 'etcdserver: Peer URLs already exists'));
    await assert.rejects(
      runMemberPromote(cluster, out, '1'),
      expect('LEARNER_NOT_READY', 9, 412, 'etcdserver: can only promote a learner member which is in sync with leader'),
    );
    // A plain-text 404 (a server without the route) is an UNKNOWN error naming the path.
    await assert.rejects(runMemberUpdate(cluster, out, '1', { peerUrls: 'http://a:1' }), expect('UNKNOWN', 2, 404, `HTTP 404 from ${s.url}/v3/cluster/member/update`));
    assert.equal(out.stdout, '');
  } finally {
    await s.close();
  }
});

test('ClusterClient refuses IDs outside uint64 before sending anything', async () => {
  const cluster = new ClusterClient({ endpoints: ['http://127.0.0.1:9'] });
  await assert.rejects(cluster.memberRemove(-1n), TypeError);
  await assert.rejects(cluster.memberPromote(2n ** 64n), TypeError);
  await assert.rejects(cluster.moveLeader(-5n), TypeError);
  await assert.rejects(cluster.memberUpdate(1n, [1 as unknown as string]), TypeError);
});

test('endpoint status --cluster: endpoints come from member list; a dead one is reported and fails the command', async () => {
  const ids = [0x1an, 0x2bn];
  const members: Stub[] = [];
  for (const id of ids) members.push(await stub((path) => (path === '/v3/maintenance/status' ? ok(encodeStatusResponseText(statusOf(id, ids[0]!))) : undefined)));
  const dead = 'http://127.0.0.1:9';
  const list = await stub((path) =>
    path === '/v3/cluster/member/list'
      ? ok(
          encodeMemberListResponseText({
            header: header(1n),
            members: [
              { ...m1, id: ids[0]!, clientUrls: [members[0]!.url + '/'] },
              { ...m2, id: ids[1]!, clientUrls: [members[1]!.url, dead] },
              // Unstarted: no client URLs, nothing to ask.
              { id: 7n, name: '', peerUrls: ['http://x:1'], clientUrls: [], isLearner: false },
            ],
          }),
        )
      : undefined,
  );
  try {
    const cluster = new ClusterClient({ endpoints: [list.url], timeoutMs: 2000 });
    const out = capture();
    await assert.rejects(runEndpointStatus(cluster, out, [list.url], { cluster: true }), /1 of 3 endpoints did not answer/);
    assert.equal(
      out.stdout,
      `${members[0]!.url}, 1a, 3.4.0, 25 kB, true, false, 4, 40, 40, \n` + `${members[1]!.url}, 2b, 3.4.0, 25 kB, false, false, 4, 40, 40, \n`,
    );
    assert.match(out.stderr, new RegExp(`^Failed to get the status of endpoint ${dead} \\(no endpoint answered /v3/maintenance/status: ${dead}: connect ECONNREFUSED`));
    // Without --cluster, exactly the endpoints given.
    const one = capture('json');
    await runEndpointStatus(cluster, one, [members[1]!.url]);
    const parsed = JSON.parse(one.stdout) as Array<{ Endpoint: string; Status: { header: { member_id: string } } }>;
    assert.deepEqual(parsed.map((p) => [p.Endpoint, p.Status.header.member_id]), [[members[1]!.url, '43']]);
  } finally {
    await Promise.all([list, ...members].map((s) => s.close()));
  }
});

test('move-leader: finds the leader among the endpoints and sends the transfer there', async () => {
  const leader = 0x1an;
  const target = 0x2bn;
  const a = await stub((path) => (path === '/v3/maintenance/status' ? ok(encodeStatusResponseText(statusOf(target, leader))) : undefined));
  const b = await stub((path) => {
    if (path === '/v3/maintenance/status') return ok(encodeStatusResponseText(statusOf(leader, leader)));
    if (path === '/v3/maintenance/transfer-leadership') return ok(encodeMoveLeaderResponseText({ header: header(leader) }));
    return undefined;
  });
  try {
    const cluster = new ClusterClient({ endpoints: [a.url, b.url] });
    const out = capture();
    await runMoveLeader(cluster, out, [a.url, b.url], '2b');
    assert.equal(out.stdout, 'Leadership transferred from 1a to 2b\n');
    assert.deepEqual(b.seen.at(-1), { path: '/v3/maintenance/transfer-leadership', body: { targetID: '43' } });
    assert.ok(a.seen.every((s) => s.path === '/v3/maintenance/status'));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("move-leader through a follower only: the leader's client URL comes from member list", async () => {
  const leader = 0x1an;
  const follower = 0x2bn;
  const l = await stub((path) => {
    if (path === '/v3/maintenance/transfer-leadership') return fail(EtcdClusterError.BAD_LEADER_TRANSFEREE, 412);
    return undefined;
  });
  const f = await stub((path) => {
    if (path === '/v3/maintenance/status') return ok(encodeStatusResponseText(statusOf(follower, leader)));
    if (path === '/v3/cluster/member/list') {
      return ok(
        encodeMemberListResponseText({
          header: header(follower),
          members: [
            { ...m1, id: leader, clientUrls: [l.url] },
            { ...m2, id: follower, clientUrls: [''] },
          ],
        }),
      );
    }
    return undefined;
  });
  try {
    const cluster = new ClusterClient({ endpoints: [f.url] });
    const out = capture();
    await assert.rejects(runMoveLeader(cluster, out, [f.url], 'ff'), (err: unknown) => err instanceof KeywardError && err.code === 'BAD_LEADER_TRANSFEREE');
    assert.deepEqual(l.seen, [{ path: '/v3/maintenance/transfer-leadership', body: { targetID: '255' } }]);
    assert.equal(out.stdout, '');
  } finally {
    await Promise.all([l.close(), f.close()]);
  }
});
