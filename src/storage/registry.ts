// The one registry of LMDB sub-database names. Every sub-database of the environment is named here
// and nowhere else, so two modules can never collide on a name and `Storage.open` knows the whole
// set (LMDB needs `maxDbs` up front). A future Raft log store adds its entries to this object.
//
// Names are part of the on-disk format: never rename one; add a new name and migrate instead.
export const SUB_DBS = {
  /** mvcc history: 16-byte revision (main BE, sub BE) → encoded record. */
  mvccKv: 'mvcc.kv',
  /** mvcc current state: user key → 16-byte revision of its live record. */
  mvccLatest: 'mvcc.latest',
  /** mvcc key index with generations: escaped(user key) ‖ 0x00 0x01 ‖ revision → tombstone flag. */
  mvccKeyRevs: 'mvcc.keyrevs',
  /** mvcc bookkeeping (applied index, revisions, format version). */
  mvccMeta: 'mvcc.meta',
  /** cluster membership (replicated state): 8-byte member ID (BE) → member record (JSON). */
  clusterMembers: 'cluster.members',
  /** cluster bookkeeping (replicated state): cluster ID, IDs of removed members. */
  clusterMeta: 'cluster.meta',
} as const;

export type SubDbName = (typeof SUB_DBS)[keyof typeof SUB_DBS];

export const ALL_SUB_DBS: readonly SubDbName[] = Object.values(SUB_DBS);
