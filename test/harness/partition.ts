import { renameSync, writeFileSync } from 'node:fs';

// Network partitions for real `keyward serve` processes. Each member is started with
// KEYWARD_TEST_FAULT_FILE (src/cli/serve.ts, test-only) naming its own file here; writing a
// member's file makes it drop every peer message to and from the members listed, both ways, within
// its 20 ms poll. Files are replaced by rename, so a member never reads half a list.

export { TEST_FAULT_FILE_ENV } from '../../src/cli/serve.js';

export interface PartitionMember {
  /** The member's fault file (passed to it in TEST_FAULT_FILE_ENV). */
  faultFile: string;
  /** Its member ID in hex, once known (null while it is not running). */
  memberId: string | null;
}

export class Partitioner {
  /** Blocked member IDs per member index. */
  private readonly blocked: Set<string>[];

  constructor(private readonly members: readonly PartitionMember[]) {
    this.blocked = members.map(() => new Set<string>());
    for (let i = 0; i < members.length; i++) this.write(i);
  }

  /**
   * Cuts member i off from the members in `from` (default: every other member), on both sides so
   * that neither end delivers nor accepts a message across the cut.
   */
  isolate(i: number, from: number[] = this.members.map((_, j) => j).filter((j) => j !== i)): void {
    const self = this.idOf(i);
    for (const j of from) {
      if (j === i) continue;
      this.blocked[i]!.add(this.idOf(j));
      this.blocked[j]!.add(self);
      this.write(j);
    }
    this.write(i);
  }

  /** Removes every cut. */
  heal(): void {
    for (let i = 0; i < this.members.length; i++) {
      this.blocked[i]!.clear();
      this.write(i);
    }
  }

  private idOf(i: number): string {
    const id = this.members[i]!.memberId;
    if (id === null || id === '') throw new Error(`member ${i} has no known member ID (not running?)`);
    return id;
  }

  private write(i: number): void {
    const file = this.members[i]!.faultFile;
    writeFileSync(`${file}.tmp`, JSON.stringify({ blocked: [...this.blocked[i]!] }));
    renameSync(`${file}.tmp`, file);
  }
}
