import { spawn } from 'node:child_process';
import { LockError, type LockClient } from '../client/index.js';
import { bytesToString } from '../wire/index.js';
import { UsageError, type Output } from './kv-commands.js';

// `keyward lock <name> [command [args...]]`: etcdctl's lock. Waits for the lock (client/lock.ts,
// etcd's Mutex protocol, so it contends fairly with `etcdctl lock` on the same name), then either
// prints the lock's key and holds it until SIGINT or SIGTERM, or runs the command with the key and
// the fencing revision in its environment (ETCD_LOCK_KEY / ETCD_LOCK_REV as etcdctl sets them, and
// KEYWARD_LOCK_KEY / KEYWARD_LOCK_REV) and exits with its status. The lock is released either way;
// an interrupt while waiting withdraws the request.

export interface LockCommandOptions {
  ttl: string;
}

/** Resolves on the first interrupt (SIGINT / SIGTERM in main.ts). */
export type Interrupt = Promise<void>;

export async function runLock(locks: LockClient, out: Output, name: string, command: readonly string[], o: LockCommandOptions, interrupt: Interrupt): Promise<number> {
  if (!/^[1-9][0-9]*$/.test(o.ttl) || !Number.isSafeInteger(Number(o.ttl))) throw new UsageError(`--ttl must be a positive integer (seconds), got ${JSON.stringify(o.ttl)}`);
  if (name === '') throw new UsageError('the lock name must not be empty');
  const ctl = new AbortController();
  let interrupted = false;
  void interrupt.then(() => {
    interrupted = true;
    ctl.abort();
  });
  let lock;
  try {
    lock = await locks.lock(name, { ttl: Number(o.ttl), signal: ctl.signal });
  } catch (err) {
    if (err instanceof LockError && err.code === 'ABORTED') return 130;
    throw err;
  }
  const key = bytesToString(lock.key);
  try {
    if (command.length === 0) {
      out.write(`${key}\n`);
      if (!interrupted) await interrupt;
      return 0;
    }
    const env = { ...process.env, ETCD_LOCK_KEY: key, ETCD_LOCK_REV: String(lock.revision), KEYWARD_LOCK_KEY: key, KEYWARD_LOCK_REV: String(lock.revision) };
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    // The interrupt reaches the child from the terminal's process group; a SIGTERM sent to this
    // process alone is passed on.
    void interrupt.then(() => child.kill('SIGTERM'));
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(new UsageError(`cannot run ${command[0]}: ${e.message}`)));
      child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15)));
    });
  } finally {
    await lock.unlock();
  }
}
