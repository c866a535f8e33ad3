import { readFile, rename, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../ota/atomic-file.ts';

/** The files of the device's identity. */
export interface IdentityPaths {
  /** The private key the agent connects with (`FLEETKIT_KEY_FILE`), mode 0600. */
  readonly keyFile: string;
  /** Its certificate (`FLEETKIT_CERT_FILE`). */
  readonly certFile: string;
}

/** A key and the certificate for it. */
export interface Credentials {
  readonly keyPem: string;
  readonly certPem: string;
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The device's key and certificate on disk, and the steps of a rotation: the next key and certificate
 * are staged beside the current ones (`<file>.next`), promoted by rename (the current pair kept as
 * `<file>.prev` until the platform confirmed the new one), or rolled back. Keys are written 0600 and
 * atomically: a power cut leaves the old or the new file, never a mix.
 */
export class IdentityFiles {
  constructor(readonly paths: IdentityPaths) {}

  private next(path: string): string {
    return `${path}.next`;
  }

  private previous(path: string): string {
    return `${path}.prev`;
  }

  private get marker(): string {
    return `${this.paths.certFile}.confirm`;
  }

  /** The current key and certificate. */
  async current(): Promise<Credentials> {
    const [keyPem, certPem] = await Promise.all([
      readFile(this.paths.keyFile, 'utf8'),
      readFile(this.paths.certFile, 'utf8'),
    ]);
    return { keyPem, certPem };
  }

  /** Writes the key (0600) and certificate of a first provisioning. */
  async install(credentials: Partial<Credentials>): Promise<void> {
    if (credentials.keyPem !== undefined) await writeFileAtomic(this.paths.keyFile, credentials.keyPem);
    if (credentials.certPem !== undefined) await writeFileAtomic(this.paths.certFile, credentials.certPem);
  }

  /** Stages the next key (0600) before anything is asked of the platform. */
  async stageKey(keyPem: string): Promise<void> {
    await writeFileAtomic(this.next(this.paths.keyFile), keyPem);
  }

  /** Stages the next certificate, once the platform issued it. */
  async stageCertificate(certPem: string): Promise<void> {
    await writeFileAtomic(this.next(this.paths.certFile), certPem);
  }

  /**
   * Makes the staged pair current, keeping the old pair, and marks `certificateId` as waiting for the
   * platform's confirmation (so a restart before it still confirms).
   */
  async promote(certificateId: string): Promise<void> {
    await writeFileAtomic(this.marker, certificateId);
    for (const path of [this.paths.keyFile, this.paths.certFile]) {
      await rename(path, this.previous(path));
      await rename(this.next(path), path);
    }
  }

  /** Puts the old pair back (the new one could not connect). */
  async rollBack(): Promise<void> {
    for (const path of [this.paths.keyFile, this.paths.certFile]) {
      if ((await readIfThere(this.previous(path))) === undefined) continue;
      await rename(path, this.next(path));
      await rename(this.previous(path), path);
    }
    await rm(this.marker, { force: true });
  }

  /** The certificate waiting for the platform's confirmation, if any. */
  async awaitingConfirmation(): Promise<string | undefined> {
    return (await readIfThere(this.marker))?.trim() || undefined;
  }

  /** Forgets the old pair once the platform confirmed the new one. */
  async confirmed(): Promise<void> {
    await rm(this.marker, { force: true });
    for (const path of [this.paths.keyFile, this.paths.certFile])
      await rm(this.previous(path), { force: true });
  }

  /** Drops a staged pair a rotation left behind. */
  async discardStaged(): Promise<void> {
    for (const path of [this.paths.keyFile, this.paths.certFile]) await rm(this.next(path), { force: true });
  }
}
