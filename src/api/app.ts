import express, { type Request, type Response, type Router } from 'express';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AuthError, ETCD_API_VERSION, type KeywardServer, type RequestAuth } from '../server/index.js';
import {
  decodeMemberAddRequest,
  decodeMemberListRequest,
  decodeMemberPromoteRequest,
  decodeMemberRemoveRequest,
  decodeMemberUpdateRequest,
  decodeMoveLeaderRequest,
  encodeMemberAddResponseText,
  encodeMemberListResponseText,
  encodeMemberPromoteResponseText,
  encodeMemberRemoveResponseText,
  encodeMemberUpdateResponseText,
  encodeMoveLeaderResponseText,
  decodeCompactionRequest,
  encodeCompactionResponseText,
  encodeStatusResponseText,
  parseJsonBody,
} from '../wire/index.js';
import { readBody } from './body.js';
import { requestAuth, type ClientIdentitySource } from './auth-context.js';
import { authApi } from './auth-http.js';
import { toWireFailure } from './errors.js';
import { createHttpGuard, refuseRequest, refuseUpgradeRequest, type HostPolicy } from './http-guard.js';
import { kvRpcs, tenantTimeToLive } from './kv-http.js';
import { leaseApi } from './lease-http.js';
import { TenantEdge } from './tenant-edge.js';
import { tenantsApi } from './tenants-http.js';
import type { UpgradeListener } from './http-server.js';
import { refuseWatch, serveWatchPost, type WatchTransportOptions } from './watch-http.js';
import { serveWatchSse, wantsEventStream } from './watch-sse.js';
import { createWatchUpgrade } from './watch-ws.js';

/** The narrow logging surface the API needs; pino satisfies it. */
export interface ApiLogger {
  error(obj: object, msg: string): void;
}

export interface ApiOptions extends HostPolicy {
  /** etcd's --max-request-bytes: the largest Raft proposal accepted. */
  maxRequestBytes: number;
  logger: ApiLogger;
  /** The verified client-certificate identity of a request (TLS listeners); none on plaintext. */
  clientIdentity?: ClientIdentitySource;
  /** The clock of the tenants' request-rate limits (milliseconds; Date.now unless a test injects one). */
  tenantClock?: () => number;
}

/**
 * RPCs a tenant principal may not make: they act on the whole cluster (compaction drops every
 * tenant's history; membership and leadership are the operators'). Refused at the edge as a
 * plain permission denial, whatever the principal's roles.
 */
const CLUSTER_ONLY = new Set([
  '/kv/compaction',
  '/maintenance/transfer-leadership',
  '/maintenance/transferleadership',
  '/cluster/member/add',
  '/cluster/member/remove',
  '/cluster/member/update',
  '/cluster/member/promote',
]);

/** gRPC's receive slack over --max-request-bytes, as in etcd (1.5 MiB + 512 KiB = 2 MiB). */
const GRPC_SLACK_BYTES = 512 * 1024;

const SETTLED_AUTH = Symbol('keyward.api.settledAuth');
type WithSettledAuth = IncomingMessage & { [SETTLED_AUTH]?: Promise<RequestAuth> };

/** Decodes a parsed body, delegates with who is asking, and answers the response already encoded as JSON text. */
type Handler = (body: unknown, req: IncomingMessage, auth: RequestAuth) => Promise<string>;

export interface Api {
  /** The express application hosting every route. */
  app: express.Express;
  /**
   * The listener to hand to the HTTP server: unary RPCs on their exact paths are answered
   * directly, everything else goes through `app`. Measured on this 2-core machine, express's
   * router costs ~40 µs per request (about half a put's total CPU); the RPC handlers are the same
   * functions either way, so behaviour does not depend on which door a request used.
   */
  listener: RequestListener;
  /** WebSocket upgrades (GET /v3/watch); give the whole Api to HttpListener.listen to serve them. */
  upgrade: UpgradeListener;
}

/**
 * etcd's v3 HTTP/JSON API. Handlers decode, delegate to the server and encode; nothing else.
 * There is deliberately no global body-parsing or per-request logging middleware: the KV path is
 * hot, and each request is read once and parsed once here.
 */
export function createApi(server: KeywardServer, opts: ApiOptions): Api {
  const maxMessage = opts.maxRequestBytes + GRPC_SLACK_BYTES;
  // Bytes travel as base64 in JSON, so the body may be 4/3 of the message etcd would measure.
  const bodyCap = Math.ceil((maxMessage * 4) / 3) + 64 * 1024;
  // Settled once per request, however many layers ask (a stream's gate and its handler). Kept on
  // the request itself: a WeakMap entry per request was measurable GC work on the hot path.
  const resolveAuth = (req: IncomingMessage): Promise<RequestAuth> => {
    const r = req as WithSettledAuth;
    return (r[SETTLED_AUTH] ??= requestAuth(server, req, opts.clientIdentity));
  };
  const tenants = new TenantEdge(server, opts.tenantClock === undefined ? {} : { now: opts.tenantClock });
  const leases = leaseApi(server, { maxMessageChars: bodyCap, maxMessageBytes: maxMessage, logger: opts.logger, resolveAuth });

  const v3rpcs: Record<string, Handler> = {
    ...kvRpcs(server, tenants),
    '/kv/compaction': (b, _r, a) => server.compact(decodeCompactionRequest(b), a).then(encodeCompactionResponseText),
    '/maintenance/status': (_b, _r, a) => server.status(a).then(encodeStatusResponseText),
    '/maintenance/transfer-leadership': (b, _r, a) => server.moveLeader(decodeMoveLeaderRequest(b), a).then(encodeMoveLeaderResponseText),
    // The spelling etcd's docs and some clients use.
    '/maintenance/transferleadership': (b, _r, a) => server.moveLeader(decodeMoveLeaderRequest(b), a).then(encodeMoveLeaderResponseText),
    '/cluster/member/list': async (b, _r, a) => {
      decodeMemberListRequest(b);
      return encodeMemberListResponseText(server.memberList(a));
    },
    '/cluster/member/add': (b, _r, a) => server.memberAdd(decodeMemberAddRequest(b), a).then(encodeMemberAddResponseText),
    '/cluster/member/remove': (b, _r, a) => server.memberRemove(decodeMemberRemoveRequest(b), a).then(encodeMemberRemoveResponseText),
    '/cluster/member/update': (b, _r, a) => server.memberUpdate(decodeMemberUpdateRequest(b), a).then(encodeMemberUpdateResponseText),
    '/cluster/member/promote': (b, _r, a) => server.memberPromote(decodeMemberPromoteRequest(b), a).then(encodeMemberPromoteResponseText),
    ...leases.rpcs,
    '/lease/timetolive': tenantTimeToLive(tenants, leases.rpcs['/lease/timetolive']!),
    '/kv/lease/timetolive': tenantTimeToLive(tenants, leases.rpcs['/kv/lease/timetolive']!),
    ...authApi(server),
  };
  // Every RPC of a tenant principal is admitted first: the tenant exists and is active, its request
  // rate allows one more, and the RPC is one a tenant may make.
  const admitted =
    (path: string, h: Handler): Handler =>
    (b, r, a) => {
      if (tenants.admit(a) !== undefined && CLUSTER_ONLY.has(path)) throw new AuthError('PERMISSION_DENIED');
      return h(b, r, a);
    };
  const rpcs: Record<string, Handler> = Object.fromEntries(Object.entries(v3rpcs).map(([p, h]) => [p, admitted(p, h)]));
  // Keyward's own tenants API, beside etcd's.
  const v1rpcs: Record<string, Handler> = Object.fromEntries(Object.entries(tenantsApi(server, tenants)).map(([p, h]) => [p, admitted(p, h)]));

  const serveRpc = (handler: Handler, req: IncomingMessage, res: ServerResponse): void => {
    // Who is asking is settled while the body arrives; a refused credential still reads no further.
    const auth = resolveAuth(req);
    auth.catch(() => undefined);
    readBody(req, bodyCap)
      .then(async (text) => handler(parseJsonBody(text), req, await auth))
      .then(
        (out) => sendJson(res, 200, out),
        (err: unknown) => {
          const failure = toWireFailure(err, maxMessage);
          if (failure.internal) opts.logger.error({ err, path: req.url }, 'request failed');
          if (!res.headersSent) sendJson(res, failure.status, JSON.stringify(failure.body), true);
        },
      );
  };

  // Browser protections (A20) before anything else, on both doors: the fast path and express.
  const guard = createHttpGuard(opts);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.use((req, res, next) => {
    const refused = guard(req);
    if (refused !== undefined) refuseRequest(res, refused);
    else next();
  });

  const v3: Router = express.Router({ caseSensitive: true, strict: true });
  for (const [path, handler] of Object.entries(rpcs)) {
    v3.post(path, (req, res) => serveRpc(handler, req, res));
    v3.options(path, (_req, res) => {
      res.writeHead(200, { 'Content-Length': '0' }).end();
    });
    v3.all(path, (_req, res) => sendText(res, 405, 'Method Not Allowed'));
  }
  // The watch stream: POST (newline-delimited JSON both ways), GET with Accept: text/event-stream
  // (server-sent events); GET with Upgrade: websocket arrives through `upgrade` instead.
  const watchOpts: WatchTransportOptions = { maxObjectChars: bodyCap, maxMessageBytes: maxMessage, logger: opts.logger, resolveAuth, tenants };
  v3.post('/watch', (req, res) => serveWatchPost(server, req, res, watchOpts));
  v3.get('/watch', (req, res) => {
    if (wantsEventStream(req)) serveWatchSse(server, req, res, watchOpts);
    else sendText(res, 405, 'Method Not Allowed');
  });
  v3.options('/watch', (_req, res) => {
    res.writeHead(200, { 'Content-Length': '0' }).end();
  });
  v3.all('/watch', (_req, res) => sendText(res, 405, 'Method Not Allowed'));
  // A tenant's keep-alive stream is admitted and holds one of its stream slots while open.
  v3.post('/lease/keepalive', (req, res, next) => {
    resolveAuth(req).then(
      (auth) => {
        const tenant = TenantEdge.tenantOf(auth);
        if (tenant === undefined) return next();
        // The client went away while its token was verified: 'close' has fired already and would
        // never give the slot back. Nobody is left to answer.
        if (res.closed) return;
        let release: () => void;
        try {
          tenants.admit(auth);
          release = tenants.acquire(tenant, 'streams');
        } catch (err) {
          refuseWatch(res, toWireFailure(err, maxMessage));
          return;
        }
        res.on('close', release);
        next();
      },
      // The handler answers a refused credential as it always has.
      () => next(),
    );
  });
  leases.route(v3);
  v3.use((_req, res) => sendText(res, 404, 'Not Found'));
  // etcd's gateway rewrites /v3beta to /v3.
  app.use(['/v3', '/v3beta'], v3);
  for (const [path, handler] of Object.entries(v1rpcs)) {
    app.post(path, (req, res) => serveRpc(handler, req, res));
    app.options(path, (_req, res) => {
      res.writeHead(200, { 'Content-Length': '0' }).end();
    });
    app.all(path, (_req, res) => sendText(res, 405, 'Method Not Allowed'));
  }

  app.get('/version', (_req, res) => {
    sendJson(res, 200, JSON.stringify({ etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_API_VERSION }));
  });
  // Healthy only while this member knows a leader: without one it can serve nothing linearizable.
  app.get('/health', (_req, res) => {
    if (server.hasLeader) sendJson(res, 200, '{"health":"true"}');
    else sendJson(res, 503, '{"health":"false"}');
  });
  app.use((_req: Request, res: Response) => sendText(res, 404, '404 page not found'));

  const fast = new Map<string, Handler>();
  for (const [path, handler] of Object.entries(rpcs)) {
    fast.set('/v3' + path, handler);
    fast.set('/v3beta' + path, handler);
  }
  for (const [path, handler] of Object.entries(v1rpcs)) fast.set(path, handler);
  const listener: RequestListener = (req, res) => {
    const handler = req.method === 'POST' ? fast.get(req.url ?? '') : undefined;
    if (handler === undefined) app(req, res);
    else {
      const refused = guard(req);
      if (refused !== undefined) refuseRequest(res, refused);
      else serveRpc(handler, req, res);
    }
  };
  // WebSocket upgrades never reach express: the guard runs here before the handshake.
  const watchUpgrade = createWatchUpgrade(server, watchOpts);
  const upgrade: UpgradeListener = (req, socket, head) => {
    const refused = guard(req);
    if (refused !== undefined) refuseUpgradeRequest(socket, refused);
    else watchUpgrade(req, socket, head);
  };
  return { app, listener, upgrade };
}

function sendJson(res: ServerResponse, status: number, body: string, error = false): void {
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Grpc-Metadata-Content-Type': 'application/grpc',
    'Content-Length': Buffer.byteLength(body),
  };
  // A body that was not read completely must not be left on a keep-alive connection.
  if (error && !res.req.complete) headers['Connection'] = 'close';
  res.writeHead(status, headers).end(body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
