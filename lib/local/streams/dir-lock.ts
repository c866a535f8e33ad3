import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogLockedError } from './errors.ts';

/** Directories held by open logs of this process (a lock file with our own pid may be from a previous life). */
const openDirs = new Set<string>();

/** Takes `<dir>/LOCK`, or throws {@link LogLockedError} when a live owner holds it. */
export async function takeDirLock(dir: string): Promise<void> {
  const path = join(dir, 'LOCK');
  if (openDirs.has(dir))
    throw new LogLockedError(`${dir} is already open in this process; close that log first`);
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const owner = Number(await readFile(path, 'utf8').catch(() => ''));
    // Our own pid without an open log here: a previous process that had the same pid (containers restart as pid 1).
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new LogLockedError(
        `${dir} is in use by process ${owner}; stop it, or delete ${path} if it is gone`,
      );
    }
    await writeFile(path, String(process.pid));
  }
  openDirs.add(dir);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Frees a directory taken with {@link takeDirLock}. */
export async function releaseDirLock(dir: string): Promise<void> {
  openDirs.delete(dir);
  await unlink(join(dir, 'LOCK')).catch(() => undefined);
}
