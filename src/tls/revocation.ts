// Revocation by serial number (GUARANTEES A17, A18b).
//
// Two mechanisms, used together:
//  * A CRL (x509.ts createCrl) given to a listener's `crl` option: OpenSSL refuses the listed
//    certificates during the handshake. Needs the CA key to produce, and expires (nextUpdate).
//  * This serial denylist: a plain text file (one hex serial per line, '#' comments) that an
//    operator can edit on any member without the CA key. It is checked on every accepted
//    connection ('secureConnection', guardServer below), again by identityFromSocket on every
//    request, and when it changes every open connection whose certificate is now listed is cut.
//    That covers what a CRL does not: connections opened before the revocation and TLS session
//    resumption, where OpenSSL does not re-run chain checks.
//
// Serials are compared in normalizeSerial() form. Keyward's CAs draw 126 random bits per serial,
// so one list can serve both CAs without one CA's serial shadowing another's.

import type { Server, TLSSocket } from 'node:tls';
import { TlsError } from './errors.js';
import { normalizeSerial } from './x509.js';

export class RevocationList {
  #serials: ReadonlySet<string>;
  readonly #listeners = new Set<() => void>();

  constructor(serials: Iterable<string> = []) {
    this.#serials = new Set([...serials].map(normalizeSerial));
  }

  /** Parses the denylist file format. Any line that is not a serial makes the whole file invalid. */
  static parse(text: string): string[] {
    const out: string[] = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') return;
      try {
        out.push(normalizeSerial(line));
      } catch {
        throw new TlsError('InvalidMaterial', `revocation list line ${i + 1} is not a hexadecimal serial number`);
      }
    });
    return out;
  }

  static format(serials: Iterable<string>): string {
    const sorted = [...new Set([...serials].map(normalizeSerial))].sort();
    return `# Revoked certificate serial numbers, one per line (keyward certs revoke).\n${sorted.map((s) => `${s}\n`).join('')}`;
  }

  has(serial: string): boolean {
    try {
      return this.#serials.has(normalizeSerial(serial));
    } catch {
      // A serial that is not hex cannot be on the list; the caller's own checks refuse it.
      return false;
    }
  }

  get size(): number {
    return this.#serials.size;
  }

  serials(): string[] {
    return [...this.#serials].sort();
  }

  /** Replaces the whole list and tells every subscriber (guardServer cuts newly revoked connections). */
  replace(serials: Iterable<string>): void {
    const next = new Set([...serials].map(normalizeSerial));
    const same = next.size === this.#serials.size && [...next].every((s) => this.#serials.has(s));
    this.#serials = next;
    if (!same) for (const fn of this.#listeners) fn();
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}

export interface GuardEvent {
  readonly reason: 'revoked';
  readonly serial: string;
  readonly remoteAddress: string | undefined;
  /** 'handshake': refused as it connected; 'reload': cut when the list changed. */
  readonly when: 'handshake' | 'reload';
}

export interface ServerGuard {
  /** Stops watching the server and the list (idempotent). Open connections are left alone. */
  close(): void;
}

function serialOf(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate();
  return typeof cert.serialNumber === 'string' && cert.serialNumber !== '' ? cert.serialNumber : undefined;
}

/**
 * Refuses connections from revoked certificates on `server` (any tls.Server, https.Server
 * included) and cuts open ones when the list grows. Call it on every listener (A18b).
 */
export function guardServer(server: Server, revocation: RevocationList, onRefused?: (e: GuardEvent) => void): ServerGuard {
  // Each open connection with its certificate's serial, read once at connect time.
  const live = new Map<TLSSocket, string>();
  const refuse = (socket: TLSSocket, serial: string, when: GuardEvent['when']): void => {
    const remoteAddress = socket.remoteAddress; // gone once destroyed
    socket.destroy();
    onRefused?.({ reason: 'revoked', serial: normalizeSerial(serial), remoteAddress, when });
  };
  // Registered after https.Server's own listener, but that listener only sets up the HTTP
  // parser; no request byte is read before this synchronous check destroys the socket.
  const onSecure = (socket: TLSSocket): void => {
    const serial = serialOf(socket);
    if (serial !== undefined && revocation.has(serial)) {
      refuse(socket, serial, 'handshake');
      return;
    }
    if (serial === undefined) return; // no client certificate: nothing a revocation could name
    live.set(socket, serial);
    socket.once('close', () => live.delete(socket));
  };
  server.on('secureConnection', onSecure);
  const unsubscribe = revocation.onChange(() => {
    for (const [socket, serial] of live) {
      if (revocation.has(serial)) {
        live.delete(socket);
        refuse(socket, serial, 'reload');
      }
    }
  });
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      server.off('secureConnection', onSecure);
      unsubscribe();
      live.clear();
    },
  };
}
