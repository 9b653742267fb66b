// A Ready's messages merged per destination (src/raft/coalesce.ts). The merge must never change
// what a peer makes of its messages: only the message directly before, to the same peer, takes a
// later one in; appends merge only when contiguous and of one term; rejections never merge.
// Safety across random schedules is the simulations' job (they run every Ready through it).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coalesceMessages } from '../../src/raft/coalesce.js';
import type { Entry, Message, MsgApp } from '../../src/raft/index.js';
import { TestNode, ofType } from './helpers.js';

const e = (index: number, term: number, bytes = 4): Entry => ({ index, term, type: 'normal', data: new Uint8Array(bytes) });
const app = (to: number, index: number, logTerm: number, entries: Entry[], commit: number, term = 2): MsgApp => ({
  type: 'app', from: 1n, to: BigInt(to), term, index, logTerm, entries, commit,
});
const ack = (index: number, reject = false, term = 2): Message => ({
  type: 'appResp', from: 2n, to: 1n, term, index, reject, rejectHint: reject ? index - 1 : 0, logTerm: 0,
});
const idx = (m: Message): number[] => (m.type === 'app' || m.type === 'prop' ? m.entries.map((x) => x.index) : []);
const BIG = 1 << 20;

describe('L11 coalescing a Ready\'s messages per peer', () => {
  it('contiguous appends to one follower become one append with every entry and the later commit', () => {
    const out = coalesceMessages([app(2, 5, 2, [e(6, 2)], 5), app(2, 6, 2, [e(7, 2), e(8, 2)], 5), app(2, 8, 2, [], 7)], BIG);
    assert.equal(out.length, 1);
    const m = out[0] as MsgApp;
    assert.deepEqual([m.index, m.logTerm, m.commit], [5, 2, 7]);
    assert.deepEqual(idx(m), [6, 7, 8]);
  });

  it('appends that do not continue each other, or differ in term, stay apart', () => {
    const gap = coalesceMessages([app(2, 5, 2, [e(6, 2)], 5), app(2, 7, 2, [e(8, 2)], 5)], BIG);
    assert.equal(gap.length, 2, 'index 7 does not follow entry 6');
    const wrongTerm = coalesceMessages([app(2, 5, 2, [e(6, 2)], 5), app(2, 6, 1, [e(7, 2)], 5)], BIG);
    assert.equal(wrongTerm.length, 2, 'logTerm 1 is not the term of entry 6');
    const newTerm = coalesceMessages([app(2, 5, 2, [e(6, 2)], 5, 2), app(2, 6, 2, [e(7, 3)], 5, 3)], BIG);
    assert.equal(newTerm.length, 2, 'messages of two terms');
    const retransmit = coalesceMessages([app(2, 5, 2, [e(6, 2), e(7, 2)], 5), app(2, 6, 2, [e(7, 2)], 5)], BIG);
    assert.equal(retransmit.length, 2, 'an append starting inside the previous one');
  });

  it('per-peer order is kept: a heartbeat between two appends to the same peer blocks the merge, other peers do not', () => {
    const hb: Message = { type: 'heartbeat', from: 1n, to: 2n, term: 2, commit: 5, context: null };
    const out = coalesceMessages([app(2, 5, 2, [e(6, 2)], 5), app(3, 5, 2, [e(6, 2)], 5), hb, app(2, 6, 2, [e(7, 2)], 5), app(3, 6, 2, [e(7, 2)], 5)], BIG);
    assert.deepEqual(out.map((m) => `${m.type}>${m.to}:${idx(m).join(',')}`), ['app>2:6', 'app>3:6,7', 'heartbeat>2:', 'app>2:7']);
  });

  it('merging stops at maxSize; a message that does not fit starts the next one', () => {
    const size = 100 + 16; // entrySize: payload + ENTRY_OVERHEAD
    const out = coalesceMessages([app(2, 5, 2, [e(6, 2, 100)], 5), app(2, 6, 2, [e(7, 2, 100)], 5), app(2, 7, 2, [e(8, 2, 100)], 5), app(2, 8, 2, [e(9, 2, 100)], 5)], 2 * size);
    assert.deepEqual(out.map(idx), [[6, 7], [8, 9]]);
  });

  it('accepts merge into the highest; a rejection, or a lower or other-term accept, stays its own message', () => {
    assert.deepEqual(coalesceMessages([ack(5), ack(7), ack(9)], BIG).map((m) => (m as { index: number }).index), [9]);
    assert.equal(coalesceMessages([ack(5), ack(7, true)], BIG).length, 2);
    assert.equal(coalesceMessages([ack(7, true), ack(8)], BIG).length, 2);
    assert.equal(coalesceMessages([ack(7), ack(5)], BIG).length, 2);
    assert.equal(coalesceMessages([ack(5, false, 2), ack(7, false, 3)], BIG).length, 2);
  });

  it('forwarded proposals to the leader merge in order', () => {
    const prop = (i: number): Message => ({ type: 'prop', from: 2n, to: 1n, term: 0, entries: [e(i, 0)] });
    const out = coalesceMessages([prop(1), prop(2), prop(3)], BIG);
    assert.equal(out.length, 1);
    assert.deepEqual(idx(out[0]!), [1, 2, 3]);
  });

  it('never changes the entry arrays it was given (they may be the log\'s own)', () => {
    const first = [e(6, 2)];
    const input = [app(2, 5, 2, first, 5), app(2, 6, 2, [e(7, 2)], 5)];
    coalesceMessages(input, BIG);
    assert.equal(first.length, 1);
    assert.equal((input[0] as MsgApp).entries, first);
  });

  it('a leader taking five proposals in one turn sends each follower ONE append holding all five', () => {
    const l = new TestNode({ id: 1, voters: [1, 2, 3] });
    l.raw.campaign();
    for (const m of ofType(l.drain(), 'vote')) l.raw.step({ type: 'voteResp', from: m.to, to: 1n, term: m.term, reject: false });
    const elected = l.raw.ready();
    l.persist(elected);
    l.raw.advance(elected);
    // Both followers take the no-op, so their progress is in 'replicate' (a probe sends one at a time).
    for (const m of ofType(elected.messages, 'app')) {
      l.raw.step({ type: 'appResp', from: m.to, to: 1n, term: m.term, index: m.index + m.entries.length, reject: false, rejectHint: 0, logTerm: 0 });
    }
    l.drain();
    for (let i = 0; i < 5; i++) l.raw.propose(new TextEncoder().encode(`v${i}`));
    const rd = l.raw.ready();
    const apps = ofType(rd.messages, 'app');
    assert.deepEqual(apps.map((m) => m.to).sort(), [2n, 3n]);
    for (const m of apps) assert.equal(m.entries.length, 5);
    l.persist(rd);
    l.raw.advance(rd);
  });
});
