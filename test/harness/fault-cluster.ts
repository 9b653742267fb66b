// A three-member (or larger) cluster of `keyward serve` processes on loopback for fault runs:
// start, SIGKILL, SIGSTOP/SIGCONT, network cuts (harness/partition.ts), membership changes, secure
// mode (mutual TLS on both ports, auth on, users with client certificates) and the members' final
// contents. Used by the jepsen runs (test/linearizability/fault-run.ts), the watch fault runs
// (test/watch-faults/run.ts) and test/client/watch.test.ts. (harness/process-cluster.ts has the
// plain static cluster the kill -9 tests use.)
import { AuthClient, ClusterClient, clientTlsFromFiles, KeywardError, KvClient, type ClientTls, type PermissionInput } from '../../src/client/index.js';
import { certLayout, CertStore } from '../../src/tls/index.js';
import { type KeyValue } from '../../src/wire/index.js';
import { freePort } from './cluster.js';
import { Partitioner, TEST_FAULT_FILE_ENV } from './partition.js';
import { TEST_HOSTS } from './certs.js';
import { rootClientFiles, startMemberProcess, type ClientTlsFiles, type MemberProcess } from './process.js';
import { staticMemberArgs } from './process-cluster.js';
import { makeTmpDir, type TmpDir } from './tmpdir.js';

export const HEARTBEAT_MS = 50;
export const ELECTION_MS = 500;

export { mulberry32 as prng } from './prng.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const kvClient = (endpoints: string[], timeoutMs: number, tls: ClientTls | null): KvClient => new KvClient({ endpoints, timeoutMs, ...(tls === null ? {} : { tls }) });
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Slot {
  name: string;
  peerUrl: string;
  clientUrl: string;
  dataDir: string;
  proc: MemberProcess | null;
  /** Test-only fault file the member polls (harness/partition.ts), and its ID once started. */
  faultFile: string;
  memberId: string | null;
  /** Client used for maintenance calls (status, final ranges). */
  admin: KvClient;
  /** Removed from the cluster for good (remove-leader): not started again, not checked at the end. */
  removed: boolean;
}

export class ProcessCluster {
  /** Network cuts between members (every member runs with a fault file). */
  readonly partition: Partitioner;
  private readonly memberClients = new Map<string, ClusterClient>();
  private readonly tlsByUser = new Map<string, ClientTls>();

  private constructor(
    readonly slots: Slot[],
    private readonly dir: TmpDir,
    /** `keyward serve` flags every member gets (after the harness's own). */
    private readonly extraArgs: readonly string[],
    /** Secure clusters: the shared certs dir, and the root user's TLS material every client uses. */
    private readonly secure: { certsDir: string; tls: ClientTls } | null,
  ) {
    this.partition = new Partitioner(slots);
  }

  /**
   * `secure`: one certs dir for all members, made before any starts (an operator's `keyward certs
   * init` with every founder's name), https on both ports, no --insecure; see RunOptions.secure.
   */
  static async create(n: number, extraArgs: readonly string[] = [], opts: { secure?: boolean } = {}): Promise<ProcessCluster> {
    const dir = makeTmpDir('keyward-jepsen-');
    let secure: { certsDir: string; tls: ClientTls } | null = null;
    if (opts.secure === true) {
      const certsDir = dir.sub('certs');
      new CertStore(certsDir).init(Array.from({ length: n }, (_, i) => `j${i}`), TEST_HOSTS);
      const root = rootClientFiles(certsDir);
      secure = { certsDir, tls: clientTlsFromFiles({ caFile: root.ca, certFile: root.cert, keyFile: root.key }) };
    }
    const slots: Slot[] = [];
    for (let i = 0; i < n; i++) slots.push(await ProcessCluster.slot(dir, i, secure?.tls ?? null));
    return new ProcessCluster(slots, dir, extraArgs, secure);
  }

  private static async slot(dir: TmpDir, i: number, tls: ClientTls | null): Promise<Slot> {
    const scheme = tls === null ? 'http' : 'https';
    const clientUrl = `${scheme}://127.0.0.1:${await freePort()}`;
    return {
      name: `j${i}`,
      peerUrl: `${scheme}://127.0.0.1:${await freePort()}`,
      clientUrl,
      dataDir: dir.sub(`j${i}`),
      proc: null,
      faultFile: dir.sub(`j${i}.fault.json`),
      memberId: null,
      admin: kvClient([clientUrl], 1000, tls),
      removed: false,
    };
  }

  /** A KV client of `endpoints`; on a secure cluster over TLS as `user` (root, or one addUser made). */
  kv(endpoints: string[], timeoutMs: number, user = 'root'): KvClient {
    return kvClient(endpoints, timeoutMs, this.clientTls(user));
  }

  /** Secure clusters: the client CA and `user`'s certificate and key files; null on a plaintext cluster. */
  clientFiles(user = 'root'): ClientTlsFiles | null {
    if (this.secure === null) return null;
    const l = certLayout(this.secure.certsDir);
    return { ca: l.clientCa.cert, cert: l.client(user).cert, key: l.client(user).key };
  }

  /** Secure clusters: `user`'s TLS material for the client SDK (root's, or one addUser made); null on a plaintext cluster. */
  clientTls(user = 'root'): ClientTls | null {
    if (this.secure === null || user === 'root') return this.secure?.tls ?? null;
    let tls = this.tlsByUser.get(user);
    if (tls === undefined) {
      const f = this.clientFiles(user)!;
      this.tlsByUser.set(user, (tls = clientTlsFromFiles({ caFile: f.ca, certFile: f.cert, keyFile: f.key })));
    }
    return tls;
  }

  /**
   * Secure clusters: a user that logs in with its certificate (CN=user, issued now, as `keyward
   * certs issue --user`), no password, and a role of its own holding `grant` (none: no
   * permission at all), all made by root through a running member before a workload uses it.
   */
  async addUser(user: string, grant: PermissionInput | null): Promise<void> {
    if (this.secure === null) throw new TypeError('addUser needs a secure cluster');
    new CertStore(this.secure.certsDir).issueClient(user);
    const running = this.active().filter((i) => this.slots[i]!.proc !== null);
    const auth = new AuthClient({ endpoints: running.map((i) => this.slots[i]!.clientUrl), timeoutMs: 5000, tls: this.secure.tls });
    await auth.userAdd(user, { noPassword: true });
    if (grant === null) return;
    await auth.roleAdd(`${user}-role`);
    await auth.roleGrantPermission(`${user}-role`, grant);
    await auth.userGrantRole(user, `${user}-role`);
  }

  private clusterClient(endpoints: string[], timeoutMs: number): ClusterClient {
    return new ClusterClient({ endpoints, timeoutMs, ...(this.secure === null ? {} : { tls: this.secure.tls }) });
  }

  /** A new peer URL on a free port, with the cluster's scheme. */
  private async peerUrl(): Promise<string> {
    return `${this.secure === null ? 'http' : 'https'}://127.0.0.1:${await freePort()}`;
  }

  /**
   * A new slot j<n> (ports, data dir), not started and not yet a member; returns its index. The
   * partitioner does not know it (its member finds no fault file: nothing blocked). On a secure
   * cluster a name the certs dir has no certificates for gets them now, as an operator runs
   * `keyward certs add-member` before starting a member that joins later.
   */
  async newSlot(): Promise<number> {
    const i = this.slots.length;
    if (this.secure !== null) new CertStore(this.secure.certsDir).addMember(`j${i}`, TEST_HOSTS);
    this.slots.push(await ProcessCluster.slot(this.dir, i, this.secure?.tls ?? null));
    return i;
  }

  /** Indices of the slots that are (or were started as) members and have not been removed. */
  active(): number[] {
    return this.slots.map((_, i) => i).filter((i) => !this.slots[i]!.removed);
  }

  /** A client for member API calls through member i only (the changes are not retried elsewhere). */
  members(i: number, timeoutMs = 5000): ClusterClient {
    const k = `${i}/${timeoutMs}`;
    let c = this.memberClients.get(k);
    if (c === undefined) this.memberClients.set(k, (c = this.clusterClient([this.slots[i]!.clientUrl], timeoutMs)));
    return c;
  }

  /** `existing`: join a running cluster the members were added to (etcd's --initial-cluster-state existing). */
  async start(which: number[] = this.slots.map((_, i) => i), existing = false): Promise<void> {
    await Promise.all(
      which.map(async (i) => {
        const s = this.slots[i]!;
        const members = this.slots.filter((o) => !o.removed);
        const args = [...staticMemberArgs(s, members, 'jepsen', { heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS }), ...this.extraArgs];
        if (existing) args.push('--initial-cluster-state', 'existing');
        s.proc = await startMemberProcess(s.dataDir, args, { [TEST_FAULT_FILE_ENV]: s.faultFile }, this.secure === null ? {} : { secure: { certsDir: this.secure.certsDir } });
        s.memberId = s.proc.memberId;
      }),
    );
  }

  async kill(i: number): Promise<void> {
    const p = this.slots[i]!.proc;
    if (p === null) return;
    this.slots[i]!.proc = null;
    p.child.kill('SIGKILL');
    await p.exited;
  }

  signal(i: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.slots[i]!.proc?.child.kill(sig);
  }

  /** Index of a running member that reports itself as leader, waiting up to `ms`. */
  async leader(ms = 15_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = 0; i < this.slots.length; i++) {
        const s = this.slots[i]!;
        if (s.proc === null) continue;
        try {
          const st = await s.admin.status();
          if (st.leader !== 0n && st.header.memberId === st.leader) return i;
        } catch {
          // not answering (yet)
        }
      }
      if (Date.now() > deadline) throw new Error('no leader elected');
      await sleep(50);
    }
  }

  /**
   * Index among `among` of a member that reports itself as leader and is not `exceptId` (hex),
   * waiting up to `ms`; null if none did.
   */
  async leaderAmong(among: number[], exceptId: string, ms: number): Promise<number | null> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const i of among) {
        try {
          const st = await this.slots[i]!.admin.status();
          if (st.leader !== 0n && st.header.memberId === st.leader && st.leader.toString(16) !== exceptId) return i;
        } catch {
          // not answering
        }
      }
      await sleep(50);
    }
    return null;
  }

  /**
   * L9: removes member i through the member API of the others, kills it, and adds it back as a
   * new member: a new peer URL (member IDs derive from peer URLs, and a removed ID never comes
   * back) and an empty data dir, joining with --initial-cluster-state existing. The client URL
   * stays, so the workload's clients find it again. Returns what happened, for the log.
   */
  async replaceMember(i: number): Promise<string> {
    const s = this.slots[i]!;
    const others = this.slots.filter((_, j) => j !== i).map((o) => o.clientUrl);
    const cc = this.clusterClient(others, 5000);
    const oldId = BigInt(`0x${s.memberId!}`);
    await cc.memberRemove(oldId);
    const left = (await cc.memberList()).members.map((m) => m.id.toString(16));
    await this.kill(i);
    s.peerUrl = await this.peerUrl();
    s.dataDir = this.dir.sub(`${s.name}-${Date.now()}`);
    const added = await cc.memberAdd([s.peerUrl]);
    await this.start([i], true);
    if (s.memberId !== added.member.id.toString(16)) throw new Error(`${s.name} started as ${s.memberId}, added as ${added.member.id.toString(16)}`);
    const now = (await cc.memberList()).members.map((m) => m.id.toString(16));
    return `removed ${oldId.toString(16)} (members then ${left.join(',')}), added ${s.memberId} with an empty data dir (members now ${now.join(',')})`;
  }

  /**
   * L9, remove-leader: removes member i through member `via`'s member API (i itself or another
   * member) while clients run. Member i must stop on its own once it applies its removal (raft
   * steps it down and `keyward serve` exits, as etcd does), and the others must drop it from
   * their member lists. The slot is retired either way.
   */
  async removeMember(i: number, via: number): Promise<{ note: string; problems: string[] }> {
    const s = this.slots[i]!;
    const proc = s.proc!;
    const id = BigInt(`0x${s.memberId!}`);
    const notes: string[] = [];
    const problems: string[] = [];
    const t0 = Date.now();
    try {
      const res = await this.members(via).memberRemove(id);
      notes.push(`the remove call answered in ${Date.now() - t0} ms (members then ${res.members.map((m) => m.id.toString(16)).join(',')})`);
    } catch (e) {
      // Asked on the member being removed, the answer can be cut off as it stops; the others' lists decide.
      notes.push(`the remove call failed after ${Date.now() - t0} ms (${errText(e)})`);
    }
    const rest = this.active().filter((j) => j !== i);
    const dropped = await waitFor(10_000, async () => {
      for (const j of rest) if ((await this.members(j, 1000).memberList()).members.some((m) => m.id === id)) return false;
      return true;
    });
    if (!dropped) problems.push(`${s.name} is still in a member list 10 s after the remove call`);
    const exited = await Promise.race([proc.exited, sleep(10_000).then(() => null)]);
    if (exited === null) {
      problems.push(`${s.name} still runs 10 s after the remove call: a removed member must stop`);
      await this.kill(i);
    } else {
      s.proc = null;
      notes.push(`${s.name} exited by itself ${Date.now() - t0} ms after the call (code ${exited.code}${exited.signal === null ? '' : `, ${exited.signal}`})`);
      if (exited.code !== 0) problems.push(`${s.name} exited with code ${exited.code} (signal ${exited.signal}) on its removal, not 0`);
    }
    s.removed = true;
    return { note: notes.join('; '), problems };
  }

  /** L9, learner-promote: adds a new slot as a learner through member `via`'s member API (not started yet). */
  async addLearner(via: number): Promise<{ index: number; id: bigint }> {
    const i = await this.newSlot();
    const added = await this.members(via).memberAdd([this.slots[i]!.peerUrl], { isLearner: true });
    if (!added.member.isLearner) throw new Error(`member add with isLearner answered a voter: ${JSON.stringify(added.member, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
    return { index: i, id: added.member.id };
  }

  /**
   * Promotes learner `id` through member `via`, retrying while the leader says it is not in sync
   * (or the call gets no answer), for up to `ms`. Resolves with the attempts made, or the error
   * that ended them.
   */
  async promote(id: bigint, via: number, ms: number): Promise<{ attempts: number; error: string | null }> {
    const deadline = Date.now() + ms;
    for (let attempts = 1; ; attempts++) {
      try {
        await this.members(via).memberPromote(id);
        return { attempts, error: null };
      } catch (e) {
        // An earlier attempt whose answer was lost may have promoted it already.
        if (e instanceof KeywardError && e.code === 'MEMBER_NOT_LEARNER') return { attempts, error: null };
        const retry = !(e instanceof KeywardError) || e.code === 'LEARNER_NOT_READY' || e.httpStatus === 0 || e.grpcCode === 14;
        if (!retry || Date.now() > deadline) return { attempts, error: errText(e) };
      }
      await sleep(100);
    }
  }

  /**
   * Secure clusters: the run really was one. Every remaining member has auth on, the member list
   * holds only https URLs (the members a fault added included), and a client that trusts the CA
   * but has no certificate is refused. Returns what did not hold.
   */
  async securityProblems(): Promise<string[]> {
    if (this.secure === null) return [];
    const out: string[] = [];
    const active = this.active();
    for (const i of active) {
      const s = this.slots[i]!;
      const auth = await new AuthClient({ endpoints: [s.clientUrl], timeoutMs: 2000, tls: this.secure.tls }).status().catch((e: unknown) => errText(e));
      if (typeof auth === 'string') out.push(`${s.name}: auth status failed: ${auth}`);
      else if (!auth.enabled) out.push(`${s.name}: auth is not enabled`);
    }
    const list = await this.members(active[0]!).memberList();
    for (const m of list.members) {
      for (const u of [...m.peerUrls, ...m.clientUrls]) if (!u.startsWith('https://')) out.push(`member ${m.id.toString(16)} (${m.name}) has a plaintext URL ${u}`);
    }
    const anonymous = new KvClient({ endpoints: [this.slots[active[0]!]!.clientUrl], timeoutMs: 2000, tls: { ...(this.secure.tls.ca === undefined ? {} : { ca: this.secure.tls.ca }) } });
    const served = await anonymous.range({ key: enc('a') }).then(
      () => true,
      () => false,
    );
    if (served) out.push(`${this.slots[active[0]!]!.name} served a client without a certificate`);
    return out;
  }

  /** Serializable full range of member i: its local revision and every key. */
  async contents(i: number): Promise<{ revision: number; kvs: KeyValue[] }> {
    const r = await this.slots[i]!.admin.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), serializable: true });
    return { revision: r.header.revision, kvs: r.kvs };
  }

  async dispose(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) {
      // A stopped process is killed as well; SIGCONT first only to be tidy.
      this.signal(i, 'SIGCONT');
      await this.kill(i);
    }
    this.dir.cleanup();
  }
}

/** Polls `ok` (errors count as not yet) every 100 ms for up to `ms`; true once it held. */
export async function waitFor(ms: number, ok: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await ok()) return true;
    } catch {
      // not answering (yet)
    }
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 160) : String(e);
}
