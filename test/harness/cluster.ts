// An in-process cluster of N members on loopback: real LMDB in temp dirs, real peer transport,
// real HTTP. Members can be stopped (clean close) and restarted on the same data and ports, and
// the network between them can be cut by a fault-injection filter (test-only server option).
// kill -9 cannot be done in-process; those tests run `keyward serve` child processes.
import { createApi, HttpListener } from '../../src/api/index.js';
import { KeywardServer, memberIdFor, type ServerOptions } from '../../src/server/index.js';
import { makeTmpDir, type TmpDir } from './tmpdir.js';
import { freePort } from './ports.js';

export const TOKEN = 'test-cluster';

export { freePort } from './ports.js';

export interface ClusterOptions {
  heartbeatMs?: number;
  electionMs?: number;
  snapshotCount?: number;
  snapshotCatchUpEntries?: number;
  requestTimeoutMs?: number;
  /** Options every member is opened with (e.g. one shared authTokenKeyFile); `open`'s extras win. */
  server?: Partial<ServerOptions>;
}

export interface RunningMember {
  server: KeywardServer;
  http: HttpListener;
  url: string;
}

export interface MemberSlot {
  name: string;
  id: bigint;
  peerUrl: string;
  dataDir: string;
  clientPort: number;
  running: RunningMember | null;
  state: 'new' | 'existing';
}

export class TestCluster {
  readonly slots: MemberSlot[] = [];
  /** Pairs of member IDs whose messages are dropped, as "from>to". */
  private readonly cut = new Set<string>();

  private constructor(
    readonly dir: TmpDir,
    readonly opts: ClusterOptions,
  ) {}

  static async start(n: number, opts: ClusterOptions = {}): Promise<TestCluster> {
    const c = new TestCluster(makeTmpDir('keyward-cluster-'), opts);
    for (let i = 0; i < n; i++) await c.addSlot(`m${i}`, 'new');
    await Promise.all(c.slots.map((_, i) => c.open(i)));
    await Promise.all(c.slots.map((s) => s.running!.server.ready()));
    return c;
  }

  /** Reserves ports and a data dir for a member (added to the cluster through the API by the test). */
  async addSlot(name: string, state: 'new' | 'existing'): Promise<MemberSlot> {
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const slot: MemberSlot = {
      name,
      id: memberIdFor([peerUrl], TOKEN),
      peerUrl,
      dataDir: this.dir.sub(name),
      clientPort: await freePort(),
      running: null,
      state,
    };
    this.slots.push(slot);
    return slot;
  }

  private initialCluster(): Array<{ name: string; peerUrls: string[] }> {
    return this.slots.map((s) => ({ name: s.name, peerUrls: [s.peerUrl] }));
  }

  async open(i: number, extra: Partial<ServerOptions> = {}): Promise<RunningMember> {
    const s = this.slots[i]!;
    const url = `http://127.0.0.1:${s.clientPort}`;
    const server = await KeywardServer.open({
      name: s.name,
      dataDir: s.dataDir,
      advertisePeerUrls: [s.peerUrl],
      listenPeerUrls: [s.peerUrl],
      advertiseClientUrls: [url],
      clusterToken: TOKEN,
      maxRequestBytes: 1572864,
      maxTxnOps: 128,
      initialCluster: this.initialCluster(),
      initialClusterState: s.state,
      heartbeatIntervalMs: this.opts.heartbeatMs ?? 50,
      electionTimeoutMs: this.opts.electionMs ?? 500,
      snapshotCount: this.opts.snapshotCount ?? 10_000,
      snapshotCatchUpEntries: this.opts.snapshotCatchUpEntries ?? 1000,
      requestTimeoutMs: this.opts.requestTimeoutMs ?? 3000,
      testNetworkFilter: (from, to) => !this.cut.has(`${from}>${to}`),
      ...this.opts.server,
      ...extra,
    });
    const api = createApi(server, { maxRequestBytes: 1572864, logger: { error: () => {} } });
    const http = await HttpListener.listen(api, url);
    s.running = { server, http, url };
    return s.running;
  }

  member(i: number): RunningMember {
    const r = this.slots[i]!.running;
    if (r === null) throw new Error(`member ${i} is not running`);
    return r;
  }

  /** Index of the member every running member agrees leads, waiting up to `ms`. */
  async leader(ms = 10_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      const running = this.slots.map((s, i) => ({ s, i })).filter((x) => x.s.running !== null);
      const leads = new Set(running.map((x) => x.s.running!.server.leaderId));
      if (leads.size === 1) {
        const id = [...leads][0]!;
        const i = this.slots.findIndex((s) => s.id === id && s.running !== null);
        if (id !== 0n && i >= 0) return i;
      }
      if (Date.now() > deadline) throw new Error('no agreed leader');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(i: number): Promise<void> {
    const r = this.slots[i]!.running;
    if (r === null) return;
    this.slots[i]!.running = null;
    await r.http.close();
    await r.server.close();
  }

  /** Drops every message to and from member i (both directions). */
  isolate(i: number): void {
    const id = this.slots[i]!.id;
    for (const s of this.slots) {
      if (s.id === id) continue;
      this.cut.add(`${id}>${s.id}`);
      this.cut.add(`${s.id}>${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.stop(i)));
    this.dir.cleanup();
  }
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are checked field by field by the tests
export type Json = Record<string, any>;

export async function call(url: string, path: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
}

export async function put(url: string, key: string, value: string): Promise<Json> {
  const r = await call(url, '/v3/kv/put', { key: b64(key), value: b64(value) });
  if (r.status !== 200) throw new Error(`put ${key} -> ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Linearizable (default) or serializable get of one key: its value or undefined. */
export async function get(url: string, key: string, serializable = false): Promise<{ value: string | undefined; revision: number }> {
  const r = await call(url, '/v3/kv/range', { key: b64(key), serializable });
  if (r.status !== 200) throw new Error(`get ${key} -> ${r.status} ${JSON.stringify(r.json)}`);
  const kv = (r.json['kvs'] ?? [])[0] as Json | undefined;
  return { value: kv === undefined ? undefined : unb64(kv['value'] ?? ''), revision: Number(r.json['header']['revision']) };
}

export { b64, unb64 };
