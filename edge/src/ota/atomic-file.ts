import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Whether a store fsyncs what it writes: `always` (the default on a device) survives a power cut;
 * `never` leaves writes to the OS, so a process crash loses nothing but a power cut may lose the last
 * seconds (a simulated device, which has no power to lose, or a device whose storage is battery-backed).
 */
export type FsyncPolicy = 'always' | 'never';

/**
 * Replaces `path` with `data` so that the file holds either the old or the new contents, never a mix:
 * write a temporary file in the same directory, rename it over the target (atomic within one file
 * system, POSIX rename(2)). Under `fsync: 'always'` (the default) the temporary file is fsynced before
 * the rename and the directory after it, so the replacement also survives a power cut.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  fsync: FsyncPolicy = 'always',
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(data);
    if (fsync === 'always') await file.sync();
  } catch (error) {
    await file.close();
    await rm(temp, { force: true });
    throw error;
  }
  await file.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (fsync === 'always') await syncDirectory(dir);
}

/** fsyncs a directory (makes creations, renames and deletions in it durable). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems (and Windows) cannot fsync a directory; the rename is as durable as they allow.
    if (
      (error as NodeJS.ErrnoException).code !== 'EINVAL' &&
      (error as NodeJS.ErrnoException).code !== 'EPERM'
    )
      throw error;
  } finally {
    await handle.close();
  }
}

/** The file's contents, or undefined if it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
