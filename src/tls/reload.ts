// Certificate reload without a restart (issue 5 item 2): on a file change or SIGHUP, new
// material is loaded and checked in full (material.ts); only if every check passes is it swapped
// into every attached server with server.setSecureContext, which replaces the context for new
// connections in one assignment. Anything wrong (a half-written file, a key that does not match
// the certificate, an expired certificate, a CA file without a CA) leaves the running context in
// place and is reported; a server is never left without a valid context.
//
// What a swap changes: new handshakes use the new certificate, key, CAs and CRLs. Connections
// already open keep the session they negotiated, except that a serial newly added to the denylist
// cuts them at once (revocation.ts guardServer). The CA list handed to identity checks
// (`issuers`) keeps the same array object while the CA file is unchanged, so per-connection
// identity caches survive a certificate-only rotation.
//
// Watching: fs.watch on the directories holding the files, because an atomic replace (write a
// temp file, rename it over the old one) moves the old inode away and a watch on the file itself
// would go silent. Events are debounced: a rotation writes the key and the certificate one after
// the other, and the check in between would (correctly) fail on the mismatched pair.

import { watch, type FSWatcher } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import { basename, dirname } from 'node:path';
import type { ConnectionOptions, Server, TlsOptions } from 'node:tls';
import { TlsError, isTlsError } from './errors.js';
import { loadTlsFiles, type LoadOptions, type LoadedMaterial, type TlsFiles } from './material.js';
import { clientTlsOptions, secureContextOptions, serverTlsOptions, type ClientTlsOptions, type ServerTlsOptions, type TlsMaterial } from './options.js';
import { RevocationList, guardServer, type GuardEvent, type ServerGuard } from './revocation.js';
import { hardenServer, type HandshakeFailure } from './server.js';
import { NODE_TIMERS, type Timers } from './timers.js';

/** The narrow logger the reloader needs; pino's (obj, msg) signature fits it. */
export interface TlsLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const SILENT_TLS_LOGGER: TlsLogger = { info() {}, warn() {}, error() {} };

export interface ReloaderOptions extends TlsFiles, LoadOptions {
  /** Reload when a watched file changes. Default true. */
  readonly watch?: boolean;
  /** Reload on SIGHUP. Default false: the process owner (the CLI) decides who handles signals. */
  readonly sighup?: boolean;
  /** Quiet time after the last file event before reloading. Default 200 ms. */
  readonly debounceMs?: number;
  readonly timers?: Timers;
  readonly logger?: TlsLogger;
}

export type ReloadOutcome =
  | { readonly ok: true; readonly changed: boolean; readonly material: LoadedMaterial }
  | { readonly ok: false; readonly error: TlsError };

export interface AttachHooks {
  /** A connection refused or cut because its certificate is on the denylist. */
  readonly onRefused?: (e: GuardEvent) => void;
  /** A handshake that failed (bad certificate, old protocol, timeout): for a rate-limited log line. */
  readonly onHandshakeFailure?: (f: HandshakeFailure) => void;
  /** Default true. False only where the caller already called hardenServer on this server. */
  readonly harden?: boolean;
}

interface Attached {
  readonly server: Server;
  readonly guard: ServerGuard;
}

export class TlsReloader {
  readonly revocation: RevocationList;
  readonly #opts: ReloaderOptions;
  readonly #timers: Timers;
  readonly #logger: TlsLogger;
  readonly #attached = new Set<Attached>();
  readonly #listeners = new Set<(o: ReloadOutcome) => void>();
  readonly #watchers: FSWatcher[] = [];
  #material: LoadedMaterial;
  #cas: readonly X509Certificate[];
  #cancelPending: (() => void) | undefined;
  #onSighup: (() => void) | undefined;
  #closed = false;

  /** Loads the material (throws a TlsError if it is unusable) and starts watching. */
  constructor(opts: ReloaderOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? NODE_TIMERS;
    this.#logger = opts.logger ?? SILENT_TLS_LOGGER;
    this.#material = loadTlsFiles(opts, opts);
    this.#cas = this.#material.cas;
    this.revocation = new RevocationList(this.#material.revoked);
    if (opts.watch ?? true) this.#watch();
    if (opts.sighup === true) {
      this.#onSighup = () => {
        this.reload();
      };
      process.on('SIGHUP', this.#onSighup);
    }
  }

  /** The material in use. */
  get material(): LoadedMaterial {
    return this.#material;
  }

  /** The trusted CAs in use; the same array until the CA file's contents change. For IdentityPolicy.issuers. */
  get cas(): readonly X509Certificate[] {
    return this.#cas;
  }

  /** Listener options built from the current material (for https.createServer). */
  serverOptions(o: Omit<ServerTlsOptions, keyof TlsMaterial | 'minVersion'> = {}): TlsOptions {
    return serverTlsOptions({ ...this.#material, ...this.#hardening(), ...o });
  }

  /** Outgoing-connection options built from the current material; call per dial to pick up reloads. */
  clientOptions(o: Omit<ClientTlsOptions, keyof TlsMaterial | 'minVersion'> = {}): ConnectionOptions {
    return clientTlsOptions({ ...this.#material, ...this.#hardening(), ...o });
  }

  #hardening(): { minVersion?: 'TLSv1.2' | 'TLSv1.3' } {
    return this.#opts.minVersion === undefined ? {} : { minVersion: this.#opts.minVersion };
  }

  /**
   * Makes `server` (created with serverOptions()) a Keyward listener: its context follows every
   * successful reload, certificates on the denylist are refused and cut (guardServer), and unless
   * `harden: false`, failed handshakes are destroyed and renegotiation refused (hardenServer).
   * Returns the detach function, which removes all of it.
   */
  attach(server: Server, hooks: AttachHooks = {}): () => void {
    const unharden = hooks.harden === false ? undefined : hardenServer(server, hooks.onHandshakeFailure);
    const entry: Attached = { server, guard: guardServer(server, this.revocation, hooks.onRefused) };
    this.#attached.add(entry);
    // Bring a server created from older options up to date.
    server.setSecureContext(secureContextOptions(this.#material, this.#hardening()));
    return () => {
      unharden?.();
      entry.guard.close();
      this.#attached.delete(entry);
    };
  }

  /** Subscribes to reload outcomes (success and failure); returns the unsubscribe function. */
  onReload(fn: (o: ReloadOutcome) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Loads the files now. On success swaps every attached server's context; on failure changes nothing. */
  reload(): ReloadOutcome {
    const outcome = this.#reload();
    for (const fn of this.#listeners) fn(outcome);
    return outcome;
  }

  #reload(): ReloadOutcome {
    if (this.#closed) return { ok: false, error: new TlsError('FileMissing', 'the reloader is closed') };
    let next: LoadedMaterial;
    try {
      next = loadTlsFiles(this.#opts, this.#opts);
    } catch (e) {
      const error = isTlsError(e) ? e : new TlsError('InvalidMaterial', `reading TLS files failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      this.#logger.warn({ code: error.code, err: error.message, certFile: this.#opts.certFile }, 'TLS reload refused; keeping the current certificates');
      return { ok: false, error };
    }
    if (next.digest === this.#material.digest) return { ok: true, changed: false, material: this.#material };
    const ctx = secureContextOptions(next, this.#hardening());
    for (const { server } of this.#attached) {
      try {
        server.setSecureContext(ctx);
      } catch (e) {
        // Not expected: loadTlsFiles already had OpenSSL build this exact context.
        this.#logger.error({ err: e instanceof Error ? e.message : String(e) }, 'TLS context swap failed on one listener; it keeps its previous context');
      }
    }
    if (next.ca !== this.#material.ca) this.#cas = next.cas;
    const previousSerial = this.#material.leafSerial;
    this.#material = next;
    this.revocation.replace(next.revoked);
    this.#logger.info({ serial: next.leafSerial, previousSerial, notAfter: next.leaf.validTo, revoked: next.revoked.length }, 'TLS material reloaded');
    return { ok: true, changed: true, material: next };
  }

  #watch(): void {
    const files = [this.#opts.certFile, this.#opts.keyFile, this.#opts.caFile, this.#opts.crlFile, this.#opts.revokedFile].filter((f): f is string => f !== undefined);
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      names.add(basename(f));
      byDir.set(dirname(f), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // Some platforms omit the name; then any event in the directory counts.
          if (name === null || names.has(name.toString())) this.#schedule();
        });
        w.on('error', (e) => this.#logger.warn({ dir, err: e.message }, 'TLS file watch failed; reload with SIGHUP'));
        this.#watchers.push(w);
      } catch (e) {
        this.#logger.warn({ dir, err: e instanceof Error ? e.message : String(e) }, 'cannot watch TLS files; reload with SIGHUP');
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#cancelPending?.();
    this.#cancelPending = this.#timers.after(this.#opts.debounceMs ?? 200, () => {
      this.#cancelPending = undefined;
      this.reload();
    });
  }

  /** Stops watching, forgets SIGHUP, detaches every server (idempotent). Servers keep their last context. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelPending?.();
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
    if (this.#onSighup !== undefined) process.off('SIGHUP', this.#onSighup);
    for (const a of this.#attached) a.guard.close();
    this.#attached.clear();
  }
}
