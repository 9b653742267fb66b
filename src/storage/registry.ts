// The one registry of LMDB sub-database names. Every sub-database of every environment is named
// here and nowhere else, so two modules can never collide on a name and `Storage.open` knows the
// set it opens (LMDB needs `maxDbs` up front).
//
// A member has ONE environment (`<data-dir>/member`) holding every sub-database below, so a Raft
// Ready's log write and the apply it enables are one transaction (see raft-log.ts). The groups
// remain for environments opened on their own (a log store in tests, a state-only KvStore), and
// `Storage.open` refuses a directory holding sub-databases it was not asked to open.
//
// Names are part of the on-disk format: never rename one; add a new name and migrate instead.
export const SUB_DBS = {
  /** mvcc history: 16-byte revision (main BE, sub BE) → encoded record. */
  mvccKv: 'mvcc.kv',
  /** Retired (mvcc format 1: user key → revision of its live record); opened so older directories open, kept empty. */
  mvccLatest: 'mvcc.latest',
  /** Retired (mvcc format 1: the key index, now in memory); opened so older directories open, kept empty. */
  mvccKeyRevs: 'mvcc.keyrevs',
  /** mvcc bookkeeping (applied index, revisions, format version). */
  mvccMeta: 'mvcc.meta',
  /** cluster membership (replicated state): 8-byte member ID (BE) → member record (JSON). */
  clusterMembers: 'cluster.members',
  /** cluster bookkeeping (replicated state): cluster ID, IDs of removed members. */
  clusterMeta: 'cluster.meta',
  /** leases (replicated state): 8-byte lease ID (i64 BE) → granted TTL and checkpointed remaining TTL. */
  leaseLeases: 'lease.leases',
  /** keys attached to leases (replicated state): 8-byte lease ID ‖ user key → 1 byte. */
  leaseKeys: 'lease.keys',
  /** auth users (replicated state): UTF-8 user name → user record (versioned JSON; see src/auth/table.ts). */
  authUsers: 'auth.users',
  /** auth roles (replicated state): UTF-8 role name → role record (versioned JSON). */
  authRoles: 'auth.roles',
  /** auth bookkeeping (replicated state): enabled flag, auth revision, revision of the last enable. */
  authMeta: 'auth.meta',
  /** tenant records (replicated state): tenant id (ASCII) → record (versioned JSON; see src/tenants/table.ts). */
  tenantsRecords: 'tenants.records',
  /** tenant storage usage (replicated state): tenant id → keys, bytes, leases (binary). */
  tenantsUsage: 'tenants.usage',
  /** lease ownership (replicated state): 8-byte lease ID (i64 BE) → owning tenant id. */
  tenantsLeases: 'tenants.leases',
  /** a tenant's leases (replicated state): tenant id ‖ "/" ‖ 8-byte lease ID → 1 byte. */
  tenantsTenantLeases: 'tenants.tenantLeases',
  /** tenants bookkeeping (replicated state): the tenant revision. */
  tenantsMeta: 'tenants.meta',
  /** Raft log: 8-byte big-endian index → entry record (CRC-32, type, term, data); see raft-codec.ts. */
  raftEntries: 'raft.entries',
  /** Raft bookkeeping: format version, hard state, compaction point, snapshot metadata. */
  raftMeta: 'raft.meta',
} as const;

export type SubDbName = (typeof SUB_DBS)[keyof typeof SUB_DBS];

export const ALL_SUB_DBS: readonly SubDbName[] = Object.values(SUB_DBS);

/** The state environment's sub-databases: what `Storage.open` opens by default. */
export const STATE_SUB_DBS: readonly SubDbName[] = [
  SUB_DBS.mvccKv,
  SUB_DBS.mvccLatest,
  SUB_DBS.mvccKeyRevs,
  SUB_DBS.mvccMeta,
  SUB_DBS.clusterMembers,
  SUB_DBS.clusterMeta,
  SUB_DBS.leaseLeases,
  SUB_DBS.leaseKeys,
  SUB_DBS.authUsers,
  SUB_DBS.authRoles,
  SUB_DBS.authMeta,
  SUB_DBS.tenantsRecords,
  SUB_DBS.tenantsUsage,
  SUB_DBS.tenantsLeases,
  SUB_DBS.tenantsTenantLeases,
  SUB_DBS.tenantsMeta,
];

/** The Raft environment's sub-databases (opened by `RaftLogStore.open`). */
export const RAFT_SUB_DBS: readonly SubDbName[] = [SUB_DBS.raftEntries, SUB_DBS.raftMeta];
