// The peer HTTP protocol, version 1. Two endpoints, both POST, both sender-initiated:
//
//   POST /raft/stream    one long-lived request per (sender, receiver) pair. The body is an endless
//                        sequence of length-prefixed frames (frames.ts). The receiver validates the
//                        headers and answers 200 at once (so the sender knows the stream is accepted),
//                        then delivers messages as frames complete. If it later drops the stream
//                        (bad frame, idle, shutdown) it first writes the TransportError message
//                        ("transport: <code>: <reason>") into the
//                        response body, so the sender's log says why.
//   POST /raft/snapshot  one request per MsgSnap. Body: encoded message, then a big-endian CRC-32
//                        of it. Content-Length is required. 204 once the message was handed to raft.
//   POST /keyward/call   a request/response call for the member's own use (call.ts), e.g. a
//                        lease renewal a follower forwards to the leader. Header X-Keyward-Call
//                        names the handler; the body is opaque bytes (Content-Length required,
//                        at most maxCallBytes); 200 with the handler's opaque answer.
//
// Every request carries these headers; a rejection answers with the status from errors.ts
// HTTP_STATUS and names its code in X-Keyward-Error. Member and cluster IDs are lower-case hex,
// like etcd's X-Etcd-Cluster-ID / X-Server-From.
//
// Unlike etcd's receiver-initiated GET streams, the sender dials: a member only needs its peers'
// URLs to send, and the direction of the TCP connection matches the direction of the data, which
// makes backpressure (socket writes) and failure detection (the sender's own write errors) local.

export const PROTOCOL_VERSION = '1';

export const STREAM_PATH = '/raft/stream';
export const SNAPSHOT_PATH = '/raft/snapshot';
export const CALL_PATH = '/keyward/call';

export const H_PROTOCOL = 'x-keyward-protocol';
export const H_CLUSTER = 'x-keyward-cluster-id';
export const H_FROM = 'x-keyward-from';
export const H_TO = 'x-keyward-to';
export const H_ERROR = 'x-keyward-error';
/** The handler a call is for (call.ts CALL_KIND). */
export const H_CALL = 'x-keyward-call';

export const STREAM_CONTENT_TYPE = 'application/vnd.keyward.raft-stream.v1';
export const SNAPSHOT_CONTENT_TYPE = 'application/vnd.keyward.raft-snapshot.v1';
export const CALL_CONTENT_TYPE = 'application/vnd.keyward.call.v1';

/** Bytes of the CRC-32 trailer on a snapshot body. */
export const SNAPSHOT_TRAILER_BYTES = 4;

export function fmtId(id: bigint): string {
  return id.toString(16);
}

const HEX_ID = /^[0-9a-f]{1,16}$/;

/** Parses a header ID; null when absent or not 1–16 lower-case hex digits. */
export function parseId(s: string | string[] | undefined): bigint | null {
  if (typeof s !== 'string' || !HEX_ID.test(s)) return null;
  return BigInt(`0x${s}`);
}

export function requestHeaders(from: bigint, to: bigint, clusterId: bigint, contentType: string): Record<string, string> {
  return {
    [H_PROTOCOL]: PROTOCOL_VERSION,
    [H_CLUSTER]: fmtId(clusterId),
    [H_FROM]: fmtId(from),
    [H_TO]: fmtId(to),
    'content-type': contentType,
  };
}
