// Temporary directories for tests that need real files (LMDB environments). Each directory is
// created with mode 0700 (mkdtemp's default) under the OS temp dir and removed by `cleanup`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TmpDir {
  readonly path: string;
  /** A path inside the directory that does not exist yet. */
  sub(name: string): string;
  cleanup(): void;
}

export function makeTmpDir(prefix = 'keyward-test-'): TmpDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    sub: (name) => join(path, name),
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/**
 * Runs `fn` with a fresh temp dir and removes it afterwards, whether fn succeeds or throws.
 * Callers must close anything open in the directory before fn returns.
 */
export async function withTmpDir<T>(fn: (dir: TmpDir) => Promise<T> | T): Promise<T> {
  const dir = makeTmpDir();
  try {
    return await fn(dir);
  } finally {
    dir.cleanup();
  }
}
