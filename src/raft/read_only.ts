// Pending ReadIndex requests on the leader (the "safe" read-only option).
//
// A request is recorded with the commit index at the time it arrived, then the
// leader broadcasts a heartbeat carrying the request's context. Once a majority
// of voters echoed that context, the leader knows it was still leader when the
// request arrived, so that commit index is a linearizable read point. Requests
// are confirmed in arrival order: confirming one confirms every earlier one.

import type { MsgReadIndex } from './messages.js';
import type { NodeId } from './types.js';
import { bytesKey } from './util.js';

export interface ReadIndexStatus {
  readonly req: MsgReadIndex;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Ignores a request whose context is already pending (a duplicate). */
  addRequest(index: number, req: MsgReadIndex): void {
    const key = bytesKey(req.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an ack; returns the acks so far, or undefined for an unknown context. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(bytesKey(context));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns every request up to and including `context`. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = bytesKey(context);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pending.get(k);
      if (rs !== undefined) out.push(rs);
      this.pending.delete(k);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | null {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? null : this.pending.get(k)!.req.context;
  }

  size(): number {
    return this.queue.length;
  }
}
