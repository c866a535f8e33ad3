import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalPki } from '../../../lib/local/pki.ts';

const DAY_MS = 86_400_000;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-pki-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('LocalPki: stored device certificates', () => {
  it('gives a device the certificate it was issued before, across a reopen', async () => {
    // Prepare
    const dir = await tempDir();
    const first = await (await LocalPki.open(dir)).deviceCredentials('sim-0001', 'tracker');

    // Act
    const again = await (await LocalPki.open(dir)).deviceCredentials('sim-0001', 'tracker');

    // Assess
    expect(again.certPem).toBe(first.certPem);
    expect(again.keyPem).toBe(first.keyPem);
  });

  it('issues a new certificate in place of one another CA signed', async () => {
    // Prepare: the same file names, made by a foreign CA
    const dir = await tempDir();
    const foreignDir = await tempDir();
    const foreign = await (await LocalPki.open(foreignDir)).deviceCredentials('sim-0002', 'tracker');
    const pki = await LocalPki.open(dir);
    await pki.deviceCredentials('sim-0002', 'tracker');
    for (const ext of ['crt', 'key'])
      await copyFile(
        join(foreignDir, 'pki', 'devices', `tracker.sim-0002.${ext}`),
        join(dir, 'pki', 'devices', `tracker.sim-0002.${ext}`),
      );

    // Act
    const credentials = await pki.deviceCredentials('sim-0002', 'tracker');

    // Assess
    expect(credentials.certPem).not.toBe(foreign.certPem);
    expect(credentials.caPem).toBe(pki.caPem);
  });

  it('issues a new certificate in place of one valid for less than a week', async () => {
    // Prepare: issued 360 days ago, so valid for 5 more days
    const dir = await tempDir();
    const pki = await LocalPki.open(dir);
    const now = Date.now();
    const old = await pki.deviceCredentials('sim-0003', 'tracker', now - 360 * DAY_MS);

    // Act
    const fresh = await pki.deviceCredentials('sim-0003', 'tracker', now);
    const kept = await pki.deviceCredentials('sim-0003', 'tracker', now);

    // Assess
    expect(fresh.certPem).not.toBe(old.certPem);
    expect(kept.certPem).toBe(fresh.certPem);
  });
});
