// The transport module's one error family.
//
// Untrusted input from a peer (a frame, a header, a request body) that is wrong gets a
// TransportError with a stable `code`; the receiver turns the code into an HTTP status through
// HTTP_STATUS below, the only place a transport status code is chosen. Misuse of the API by the
// local process (a bad option, a message with a negative term) throws TypeError instead.

export type TransportErrorCode =
  /** The input ended before a declared length or a fixed-size field. */
  | 'Truncated'
  /** A frame, body or declared length is over the configured maximum. */
  | 'TooLarge'
  /** Bytes that do not parse: unknown type, bad flag byte, overlong varint, number out of range, trailing bytes. */
  | 'Malformed'
  /** The codec version byte or the protocol header names a version this build does not speak. */
  | 'UnsupportedVersion'
  /** A snapshot body whose CRC-32 trailer does not match its contents. */
  | 'ChecksumMismatch'
  /** The request's cluster ID header differs from ours: a member of another cluster. */
  | 'ClusterMismatch'
  /** The sender is not in our peer map (never added, or removed). */
  | 'UnknownSender'
  /** The sender was removed from the cluster: it must stop (etcd's rafthttp answers 410 Gone). */
  | 'MemberRemoved'
  /** A message inside a stream claims a `from` other than the stream's sender. */
  | 'SenderMismatch'
  /** The TLS client certificate is no peer identity: not from the peer CA, wrong usage, expired, revoked, or not on --peer-cert-allowed-cn. */
  | 'PeerCertificate'
  /** A valid peer certificate that names another member than the one the connection speaks for (peer-identity.ts). */
  | 'IdentityMismatch'
  /** The request or a message in it is addressed to another member. */
  | 'WrongRecipient'
  /** The request comes from this member itself: another member's peer URL reaches this one (GUARANTEES D12). */
  | 'SelfReference'
  /** Missing or unparsable headers. */
  | 'BadRequest'
  /** No such endpoint. */
  | 'NotFound'
  /** Endpoint exists but only accepts POST. */
  | 'MethodNotAllowed'
  /** A snapshot request without Content-Length. */
  | 'LengthRequired'
  /** A second concurrent snapshot from the same sender. */
  | 'Busy'
  /** The receiver is shutting down or the stream went idle. */
  | 'Unavailable'
  /** A call (call.ts) could not reach the peer: not a peer, no connection, or the connection failed before an answer. */
  | 'Unreachable'
  /** A call got no answer in time (the caller's deadline, or the receiver's for reading it and running its handler). */
  | 'Timeout'
  /** The receiver's handler for a call failed (a bug on that side: handlers answer refusals in their own bytes). */
  | 'HandlerFailed';

/** The one table from error code to the HTTP status a peer receiver answers with. */
export const HTTP_STATUS: { readonly [C in TransportErrorCode]: number } = {
  Truncated: 400,
  TooLarge: 413,
  Malformed: 400,
  UnsupportedVersion: 412,
  ChecksumMismatch: 400,
  // 412 like etcd's rafthttp: the request is well formed but our preconditions (same cluster) fail.
  ClusterMismatch: 412,
  UnknownSender: 403,
  MemberRemoved: 410,
  SenderMismatch: 403,
  // 403 as for an unknown sender: the caller is authenticated, but not as the member it claims.
  PeerCertificate: 403,
  IdentityMismatch: 403,
  // 421 Misdirected Request says exactly this: the right protocol, the wrong member.
  WrongRecipient: 421,
  // 508 Loop Detected: the member's own messages came back to it.
  SelfReference: 508,
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  LengthRequired: 411,
  Busy: 429,
  Unavailable: 503,
  // Reported to the local caller only (nothing answers it), but every code has a status.
  Unreachable: 503,
  Timeout: 504,
  HandlerFailed: 500,
};

const CODES = new Set<string>(Object.keys(HTTP_STATUS));

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message?: string) {
    super(message === undefined ? `transport: ${code}` : `transport: ${code}: ${message}`);
    this.code = code;
  }
}

export function isTransportError(e: unknown, code?: TransportErrorCode): e is TransportError {
  return e instanceof TransportError && (code === undefined || e.code === code);
}

/** Parses the X-Keyward-Error response header back into a code (for the sender's logs). */
export function parseErrorCode(value: string | undefined): TransportErrorCode | undefined {
  return value !== undefined && CODES.has(value) ? (value as TransportErrorCode) : undefined;
}
