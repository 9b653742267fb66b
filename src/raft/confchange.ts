// Applying membership changes to the tracker, one change at a time.
//
// Safety rule (see docs/raft.md): any two majorities of configurations that
// differ by one voter intersect, so a single change needs no joint phase, as
// long as at most one change is in flight: the leader refuses a new conf
// change until the previous one is applied (pendingConfIndex <= applied),
// and a new leader until it has applied its own first entry. Changes take
// effect when applied (the driver calls applyConfChange), identically on
// every member, since they are committed entries applied in log order.

import type { ProgressTracker } from './progress.js';
import type { ConfChange, ConfState, NodeId } from './types.js';
import { assertNever } from './util.js';

/** Why a change cannot be applied, or null if it can. Deterministic: depends only on the config. */
export function validateConfChange(trk: ProgressTracker, cc: ConfChange): string | null {
  if (cc.nodeId <= 0n) return 'node id must be positive';
  switch (cc.type) {
    case 'addNode':
      return null;
    case 'addLearnerNode':
    case 'removeNode':
      if (trk.voters.has(cc.nodeId) && trk.voters.size === 1) return 'would remove the last voter';
      return null;
    default:
      return assertNever(cc.type);
  }
}

/** Applies `cc` in place. Invalid changes (validateConfChange) are ignored, on every member alike. */
export function applySimpleChange(trk: ProgressTracker, cc: ConfChange, lastIndex: number): boolean {
  if (validateConfChange(trk, cc) !== null) return false;
  const id = cc.nodeId;
  switch (cc.type) {
    case 'addNode': {
      const pr = trk.progress.get(id);
      if (pr === undefined) trk.progress.set(id, trk.newProgress(Math.max(lastIndex, 1), false));
      else pr.isLearner = false;
      trk.learners.delete(id);
      trk.voters.add(id);
      return true;
    }
    case 'addLearnerNode': {
      const pr = trk.progress.get(id);
      if (pr === undefined) trk.progress.set(id, trk.newProgress(Math.max(lastIndex, 1), true));
      else pr.isLearner = true;
      trk.voters.delete(id);
      trk.learners.add(id);
      return true;
    }
    case 'removeNode':
      trk.voters.delete(id);
      trk.learners.delete(id);
      trk.progress.delete(id);
      return true;
    default:
      return assertNever(cc.type);
  }
}

/** Rebuilds membership from a ConfState (startup, snapshot restore). */
export function restoreConfState(trk: ProgressTracker, cs: ConfState, lastIndex: number): void {
  trk.voters.clear();
  trk.learners.clear();
  trk.progress.clear();
  const add = (id: NodeId, learner: boolean): void => {
    trk.progress.set(id, trk.newProgress(Math.max(lastIndex, 1), learner));
    (learner ? trk.learners : trk.voters).add(id);
  };
  for (const id of cs.voters) add(id, false);
  for (const id of cs.learners) if (!trk.voters.has(id)) add(id, true);
}
