// Key material on disk (GUARANTEES A22).
//
// * Directories that hold keys are 0700 and owned by us. One we own with a broader mode is
//   tightened (a fresh checkout gives certs/ 0755); one another user owns is refused.
// * Files are written whole or not at all: temp file (O_EXCL, mode 0600) -> write -> fsync ->
//   link or rename into place -> fsync the directory. A crash leaves the old file or the new
//   one, never half a key, and a key is never readable by others, not even for an instant.
// * A file is only replaced when the caller says so. Without `overwrite` the final step is
//   link(2), which fails atomically if the name exists, so two concurrent `certs init` runs
//   cannot both believe they created the CA.
// * Private keys are read only from files that nobody else can read, as ssh does.

import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  chmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TlsError } from './errors.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const errno = (e: unknown): string | undefined => (e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined);

// process.getuid is absent on Windows, where POSIX ownership and modes do not apply.
const myUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

function checkOwner(path: string, st: Stats): void {
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid) {
    throw new TlsError('FilePermissions', `${path} is owned by uid ${st.uid}, not by this process (uid ${uid})`);
  }
}

/** Creates `dir` (and missing parents) with mode 0700, or checks and tightens an existing one. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new TlsError('FilePermissions', `${dir} is not a directory`);
  checkOwner(dir, st);
  if (myUid() !== undefined && (st.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface WriteOptions {
  /** Replace an existing file. Default false: an existing file is a FileExists error. */
  readonly overwrite?: boolean;
  /** Default 0600. */
  readonly mode?: number;
}

/** Writes `data` to `path` atomically and durably; see the file comment. */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const dir = dirname(path);
  const mode = opts.mode ?? PRIVATE_FILE_MODE;
  ensurePrivateDir(dir);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  let placed = false;
  try {
    try {
      // The umask can only narrow the mode given to open(2); fchmod makes it exact.
      fchmodSync(fd, mode);
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.overwrite === true) {
      renameSync(tmp, path);
      placed = true;
    } else {
      try {
        linkSync(tmp, path);
      } catch (e) {
        if (errno(e) === 'EEXIST') throw new TlsError('FileExists', `${path} exists; refusing to overwrite it`);
        throw e;
      }
    }
  } finally {
    if (!placed) {
      try {
        unlinkSync(tmp);
      } catch {
        // Already gone; nothing to clean.
      }
    }
  }
  fsyncDir(dir);
}

/** True when something (file, directory, dangling link) is at `path`. */
export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Reads a private key file, refusing one that others can read or another user owns. */
export function readPrivateFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (errno(e) === 'ENOENT') throw new TlsError('FileMissing', `${path} does not exist`);
    throw e;
  }
  try {
    // Checks and reads go through one descriptor, so the file checked is the file read.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TlsError('FileMissing', `${path} is not a regular file`);
    checkOwner(path, st);
    if (myUid() !== undefined && (st.mode & 0o077) !== 0) {
      throw new TlsError('FilePermissions', `${path} has mode ${(st.mode & 0o777).toString(8)}; a private key must be 0600 (chmod 600 ${path})`);
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a public file (certificate, CA bundle, CRL, revocation list). */
export function readPublicFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') throw new TlsError('FileMissing', `${path} does not exist`);
    throw e;
  }
}
