import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, call } from '../harness/cluster.js';

// L9 "a learner never counts towards quorum" until it is in sync: etcd refuses to promote a learner
// whose log is not within 90% of the leader's, and only the leader knows that, so a promotion asked
// on a follower is decided by the leader (etcd forwards it there). Found by the jepsen
// learner-promote fault: a follower promoted a learner that had not even started, making a fourth
// voter with an empty log (the cluster then needed all three founders for a quorum).

const NOT_READY = 'etcdserver: can only promote a learner member which is in sync with leader';

test('L9 a promotion asked on a follower is refused while the learner is not in sync, and goes through once it is', { timeout: 60_000 }, async () => {
  const c = await TestCluster.start(3);
  try {
    const lead = await c.leader();
    const follower = (lead + 1) % 3;
    const url = c.member(follower).url;
    const slot = await c.addSlot('m3', 'existing');
    const added = await call(url, '/v3/cluster/member/add', { peerURLs: [slot.peerUrl], isLearner: true });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    const id = added.json['member']['ID'] as string;
    // Not started: it holds no log at all.
    const early = await call(url, '/v3/cluster/member/promote', { ID: id });
    assert.equal(early.status, 412, `a follower refuses to promote a learner that never started: ${JSON.stringify(early.json)}`);
    assert.equal(early.json['error'], NOT_READY);
    const list = await call(c.member(lead).url, '/v3/cluster/member/list', {});
    const m3 = list.json['members'].find((m: { ID: string }) => m.ID === id);
    assert.equal(m3?.isLearner, true, 'it is still a learner');
    // Started, it catches up; the same follower then promotes it.
    await c.open(3);
    await c.member(3).server.ready();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await call(url, '/v3/cluster/member/promote', { ID: id });
      if (r.status === 200) break;
      assert.equal(r.json['error'], NOT_READY, JSON.stringify(r.json));
      assert.ok(Date.now() < deadline, 'the learner gets in sync and the follower promotes it');
      await new Promise((res) => setTimeout(res, 100));
    }
    const after = await call(c.member(lead).url, '/v3/cluster/member/list', {});
    assert.ok(after.json['members'].every((m: { isLearner?: boolean }) => m.isLearner !== true), 'every member is a voter now');
  } finally {
    await c.dispose();
  }
});
