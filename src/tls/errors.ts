// The tls module's one error family.
//
// Anything that arrives from outside the process (a peer's certificate, a PEM file an operator
// wrote, a user name typed at the CLI) and is wrong gets a TlsError with a stable `code`. Callers
// branch on the code, never on the message; the messages are for operators and never contain key
// material. Misuse of the API by our own code (a wrong option type) throws TypeError instead.

export type TlsErrorCode =
  /** A user, tenant, member, host name or IP given for issuance is not acceptable. */
  | 'InvalidName'
  /** TLS material (PEM, certificate, key, CRL, revocation list) that does not parse or does not hold what it should. */
  | 'InvalidMaterial'
  /** The private key does not belong to the certificate it is loaded with. */
  | 'KeyMismatch'
  /** A certificate loaded as a CA is not one (basicConstraints CA:false or missing keyCertSign). */
  | 'NotCa'
  /** Certificate material outside its validity window: expired or not yet valid. */
  | 'Expired'
  /** A file that would be overwritten exists and overwriting was not asked for. */
  | 'FileExists'
  /** A file or directory the operation needs is missing. */
  | 'FileMissing'
  /** A key file or key directory that others can read, or that another user owns. */
  | 'FilePermissions'
  /** The socket is not a TLS socket (plaintext listener or wrong object). */
  | 'NotTls'
  /** The peer presented no certificate, or OpenSSL did not verify its chain. */
  | 'Unverified'
  /** The certificate is verified but not issued by the CA this listener takes identities from. */
  | 'WrongIssuer'
  /** The certificate's extended key usage does not fit its use (e.g. a server-only certificate as a client). */
  | 'WrongUsage'
  /** The subject does not name exactly one well-formed principal (missing, repeated or malformed CN or tenant). */
  | 'BadSubject'
  /** The certificate's serial number is on the revocation list. */
  | 'Revoked'
  /** A verified peer that is not allowed here (not on the allowed-name list, or not the member expected). */
  | 'NotAllowed';

export class TlsError extends Error {
  override readonly name = 'TlsError';
  readonly code: TlsErrorCode;

  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isTlsError(e: unknown, code?: TlsErrorCode): e is TlsError {
  return e instanceof TlsError && (code === undefined || e.code === code);
}

/** Shows an untrusted string in a message without letting control characters reach a log or terminal. */
export function quote(s: string): string {
  const short = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  // Escapes controls, format characters (bidi overrides, zero-width), separators and lone
  // surrogates, so a hostile CN cannot rewrite the log line it appears in.
  return `"${short.replace(/[\p{C}\p{Z}"\\]/gu, (c) => (c === ' ' ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`))}"`;
}
