// Browser protections for every request the client API answers (GUARANTEES A20; CVE-2018-1098/1099).
//
// Keyward serves no web pages, so nothing a browser sends on its own behalf is ever legitimate, and
// a browser is the one client that carries ambient authority (an installed client certificate, a
// reachable loopback address) into requests a hostile page chose. The rules:
//
// 1. Browser-only signals refuse a request (403, or 415 for a form or text/plain body):
//    - `Origin`: every cross-origin fetch/XHR/EventSource/WebSocket and every POST a modern browser
//      sends carries it; curl, etcdctl, the Go and JS etcd clients and Keyward's own client never do.
//    - `Sec-Fetch-Site` other than `none` (`none` = the user typed the URL, e.g. /health in the
//      address bar). `same-origin` is refused too: no page lives at this origin, so a same-origin
//      request can only come from a page that reached us under a rebound name.
//    The body's content type alone is NOT a signal: etcd's documented curl examples POST JSON as
//    application/x-www-form-urlencoded, and they keep working (test/api).
// 2. The Host header must name this member (DNS rebinding, CVE-2018-1099): an IP literal (a
//    rebinding needs a name the attacker controls), `localhost`, a host of this member's client
//    URLs, or a name in --host-whitelist; `*` there accepts any. A request without Host (HTTP/1.0)
//    is accepted: only browsers are the threat here, and they always send it.
// 3. No CORS, ever: no response carries Access-Control-* headers, so a preflight (which carries
//    Origin and is refused by rule 1) never grants anything.
// 4. Cookies are never read, so they carry no authority. A request with a Cookie is not refused:
//    load balancers add sticky-session cookies that ordinary HTTP clients echo, and a browser's
//    cookie-carrying cross-site request already carries Origin or Sec-Fetch-Site.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { GrpcCode, errorBody, type ErrorBody } from '../wire/index.js';

export type HttpGuardErrorCode =
  /** The request carries Origin or a Sec-Fetch-Site other than `none`. */
  | 'BROWSER_REQUEST'
  /** A browser request with a body a cross-site form could send without a preflight. */
  | 'BROWSER_FORM'
  /** The Host header names a host this member does not serve. */
  | 'HOST_NOT_ALLOWED';

const REFUSALS: Record<HttpGuardErrorCode, { status: number; message: string }> = {
  BROWSER_REQUEST: { status: 403, message: 'keyward: browser requests are refused (Origin or Sec-Fetch-Site header present)' },
  BROWSER_FORM: { status: 415, message: 'keyward: browser form and text/plain requests are refused' },
  HOST_NOT_ALLOWED: {
    status: 403,
    message: 'keyward: the Host header names a host this member does not serve (DNS rebinding defence; see --host-whitelist)',
  },
};

/** A refused request: the status and etcd's error envelope (code 7, PERMISSION_DENIED). */
export class HttpGuardError extends Error {
  override readonly name = 'HttpGuardError';
  readonly status: number;
  readonly body: ErrorBody;
  constructor(readonly code: HttpGuardErrorCode) {
    const r = REFUSALS[code];
    super(r.message);
    this.status = r.status;
    this.body = errorBody(GrpcCode.PERMISSION_DENIED, r.message);
  }
}

export interface HostPolicy {
  /**
   * etcd's --host-whitelist: host names accepted besides IP literals, `localhost` and the hosts of
   * `clientUrls`. `*` accepts any host. Absent: none besides those.
   */
  hostWhitelist?: readonly string[];
  /** This member's client URLs (advertised and listened on): their hosts are accepted. */
  clientUrls?: readonly string[];
}

/** Content types a browser may send cross-site without a CORS preflight (the Fetch standard's list). */
const SIMPLE_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** Builds the check run on every request: undefined to serve it, else why it is refused. */
export function createHttpGuard(policy: HostPolicy = {}): (req: IncomingMessage) => HttpGuardError | undefined {
  const whitelist = policy.hostWhitelist ?? [];
  const anyHost = whitelist.includes('*');
  const names = new Set<string>(['localhost']);
  for (const h of whitelist) names.add(normaliseHost(h));
  for (const u of policy.clientUrls ?? []) {
    let host: string;
    try {
      host = new URL(u).hostname;
    } catch {
      throw new TypeError(`client URL ${u} is not a URL`);
    }
    names.add(normaliseHost(host));
  }
  return (req) => {
    const h = req.headers;
    const site = h['sec-fetch-site'];
    if (h.origin !== undefined || (site !== undefined && site !== 'none')) {
      return new HttpGuardError(isSimpleType(h['content-type']) ? 'BROWSER_FORM' : 'BROWSER_REQUEST');
    }
    if (!anyHost && h.host !== undefined && !hostAllowed(h.host, names)) return new HttpGuardError('HOST_NOT_ALLOWED');
    return undefined;
  };
}

function isSimpleType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return SIMPLE_TYPES.has(contentType.split(';', 1)[0]!.trim().toLowerCase());
}

/** Lower case, no brackets around IPv6, no trailing dot (`example.com.` is `example.com`). */
function normaliseHost(host: string): string {
  let n = host.trim().toLowerCase();
  if (n.startsWith('[') && n.endsWith(']')) n = n.slice(1, -1);
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** The Host header's host part (port dropped): allowed when an IP literal or a known name. */
function hostAllowed(header: string, names: ReadonlySet<string>): boolean {
  let host = header.trim();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return false;
    host = host.slice(1, end);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  if (host === '') return false;
  if (isIP(host) !== 0) return true;
  return names.has(normaliseHost(host));
}

/** Answers a refused request with etcd's error envelope. */
export function refuseRequest(res: ServerResponse, err: HttpGuardError): void {
  const body = JSON.stringify(err.body);
  // The body is not read: close the connection rather than leave it on a keep-alive socket.
  res
    .writeHead(err.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'X-Content-Type-Options': 'nosniff',
      Connection: 'close',
    })
    .end(body);
}

/** Answers a refused protocol upgrade (WebSocket) on its raw socket, before any handshake. */
export function refuseUpgradeRequest(socket: Duplex, err: HttpGuardError): void {
  const body = JSON.stringify(err.body);
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${err.status} ${err.status === 415 ? 'Unsupported Media Type' : 'Forbidden'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
}
