import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  functionAccessKey,
  LocalCredentialsError,
  openOperatorCredentials,
  parseCredentialsFile,
  readLocalCredentials,
} from '../../../lib/local/credentials.ts';

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-credentials-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('operator credentials', () => {
  it('are made on first start: an AWS-shaped key id, a 40-character secret, a 0600 shared credentials file', async () => {
    // Prepare
    const dir = await dataDir();
    // Act
    const made = await openOperatorCredentials(dir);
    // Assess
    expect(made.created).toBe(true);
    expect(made.accessKeyId).toMatch(/^FKLO[A-Z2-7]{16}$/);
    expect(made.secretAccessKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect((await stat(made.file)).mode & 0o777).toBe(0o600);
    expect(parseCredentialsFile(await readFile(made.file, 'utf8'))).toEqual({
      accessKeyId: made.accessKeyId,
      secretAccessKey: made.secretAccessKey,
    });
  });

  it('are read back on the next start, unchanged, and differ between data directories', async () => {
    const dir = await dataDir();
    const first = await openOperatorCredentials(dir);

    const again = await openOperatorCredentials(dir);
    const other = await openOperatorCredentials(await dataDir());

    expect(again).toMatchObject({
      accessKeyId: first.accessKeyId,
      secretAccessKey: first.secretAccessKey,
      created: false,
    });
    expect(other.accessKeyId).not.toBe(first.accessKeyId);
    expect(other.secretAccessKey).not.toBe(first.secretAccessKey);
  });

  it('are not overwritten when the file was edited into something unreadable', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'credentials'), '[default]\naws_access_key_id = ONLY-AN-ID\n');

    await expect(openOperatorCredentials(dir)).rejects.toBeInstanceOf(LocalCredentialsError);
    expect(await readFile(join(dir, 'credentials'), 'utf8')).toContain('ONLY-AN-ID');
  });

  it('tell the CLI where they are missing and how to get them', async () => {
    const dir = await dataDir();

    await expect(readLocalCredentials(dir)).rejects.toThrow(/credentials.*npm start.*--data-dir/);
  });

  it.each([
    [
      'other profiles before it',
      '[work]\naws_access_key_id = A\naws_secret_access_key = B\n[default]\naws_access_key_id = C\naws_secret_access_key = D\n',
      { accessKeyId: 'C', secretAccessKey: 'D' },
    ],
    [
      'comments and spacing',
      '# made by fleetkit\n[ default ]\n  aws_access_key_id=C  \n; note\naws_secret_access_key =  D\n',
      { accessKeyId: 'C', secretAccessKey: 'D' },
    ],
    ['no default profile', '[work]\naws_access_key_id = A\naws_secret_access_key = B\n', undefined],
  ])('parse a shared credentials file with %s', (_name, text, expected) => {
    expect(parseCredentialsFile(text)).toEqual(expected);
  });
});

describe('function credentials', () => {
  const operator = { accessKeyId: 'FKLOAAAAAAAAAAAAAAAA', secretAccessKey: 'operator-secret' };

  it('are one key pair per function, stable for a given operator secret, other for another', () => {
    const firmware = functionAccessKey(operator, 'apiFirmware');

    expect(functionAccessKey(operator, 'apiFirmware')).toEqual(firmware);
    expect(functionAccessKey(operator, 'apiDevices').accessKeyId).not.toBe(firmware.accessKeyId);
    expect(functionAccessKey({ ...operator, secretAccessKey: 'other' }, 'apiFirmware')).not.toEqual(firmware);
    expect(firmware.accessKeyId).toMatch(/^FKLF[A-Z2-7]{16}$/);
    expect(firmware.secretAccessKey).not.toContain(operator.secretAccessKey);
  });
});
