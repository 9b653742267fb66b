// GET /v3/watch with Upgrade: websocket: etcd's watch stream as WebSocket messages, full duplex.
// Each client message holds request objects (one, usually; etcd's gateway joins messages with
// newlines into one request body, so several or a split one work too) and each server message is
// one `{"result":…}` text, exactly a line of the POST stream. A bad first request is answered
// with etcd's error body as a message, then the socket closes (1007); a bad later one stops the
// reading of requests and the watches go on, as over POST.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { KeywardServer, RequestAuth } from '../server/index.js';
import { DecodeError } from '../wire/index.js';
import { BodyTooLargeError } from './body.js';
import { toWireFailure } from './errors.js';
import { holdOpen, type UpgradeListener } from './http-server.js';
import { authorizedStream, type WatchTransportOptions } from './watch-http.js';
import { openSessionStream, pumpWatch, WatchRequestReader, type SessionStream, type WatchSink } from './watch-session.js';

/** Stop taking messages from the stream while the socket holds this many unsent bytes. */
const SOCKET_HIGH_WATER = 64 * 1024;

/** How long a closing socket may take to finish its close handshake when the member stops. */
const WS_CLOSE_GRACE_MS = 2000;

const WATCH_PATHS = new Set(['/v3/watch', '/v3beta/watch']);

export function createWatchUpgrade(server: KeywardServer, o: WatchTransportOptions): UpgradeListener {
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxObjectChars, perMessageDeflate: false });
  return (req, socket, head) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path === undefined || !WATCH_PATHS.has(path)) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    // Who is asking is settled before the upgrade: a refused credential gets an HTTP error.
    authorizedStream(server, req, o).then(
      (auth) => wss.handleUpgrade(req, socket, head, (ws) => serveWatchSocket(server, ws, req, o, auth)),
      (err: unknown) => {
        const failure = toWireFailure(err, o.maxMessageBytes);
        refuseUpgrade(socket, failure.status, JSON.stringify(failure.body), 'application/json');
      },
    );
  };
}

function refuseUpgrade(socket: Duplex, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  socket.on('error', () => {});
  // The reason phrase is the standard one; the body carries the detail (etcd's JSON error for auth).
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

function serveWatchSocket(server: KeywardServer, ws: WebSocket, req: IncomingMessage, o: WatchTransportOptions, auth: RequestAuth): void {
  let stream: SessionStream | undefined;
  let ended = false;
  const end = (code = 1000, reason = ''): void => {
    if (ended) return;
    ended = true;
    release();
    stream?.close();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
  };
  const release = holdOpen(req, () => {
    end(1001, 'member stopping');
    // A client that does not read never completes the closing handshake: do not wait for it.
    setTimeout(() => ws.terminate(), WS_CLOSE_GRACE_MS).unref();
  });

  const fail = (err: unknown): void => {
    const failure = toWireFailure(err, o.maxMessageBytes, true);
    if (failure.internal) o.logger.error({ err, path: req.url }, 'watch request failed');
    const client = err instanceof DecodeError || err instanceof BodyTooLargeError;
    ws.send(JSON.stringify(failure.body));
    end(client ? 1007 : 1011, client ? 'bad watch request' : 'member unavailable');
  };

  let drained: Promise<void> | undefined;
  const sink: WatchSink = {
    write: (m) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      if (ws.bufferedAmount + m.text.length < SOCKET_HIGH_WATER) {
        ws.send(m.text);
        return true;
      }
      // The callback runs once this message left for the kernel (or the socket closed).
      drained = new Promise((resolve) => ws.send(m.text, () => resolve()));
      return false;
    },
    writable: () => {
      const d = drained ?? Promise.resolve();
      drained = undefined;
      return d;
    },
    get closed() {
      return ws.readyState !== WebSocket.OPEN;
    },
  };

  const reader = new WatchRequestReader(o.maxObjectChars, {
    request: (r) => {
      if (ended) return;
      if (stream === undefined) {
        try {
          stream = openSessionStream(server, auth, o.tenants, o.logger);
        } catch (err) {
          reader.stop();
          fail(err);
          return;
        }
        const s = stream;
        void pumpWatch(s, sink, () => {
          if (ws.isPaused && s.hasRoom() && !ended) ws.resume();
        }).then(
          () => end(1001, 'member stopping'),
          (err: unknown) => {
            o.logger.error({ err }, 'watch stream failed');
            end(1011, 'watch stream failed');
          },
        );
      }
      stream.request(r);
      // A client that sends but does not read: stop reading it until the answers drain.
      if (!stream.hasRoom()) ws.pause();
    },
    failed: (err) => {
      if (stream === undefined && !ended) fail(err);
    },
  });

  ws.on('message', (data: RawData) => reader.push(rawText(data) + '\n'));
  ws.on('close', () => end());
  ws.on('error', () => end());
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
