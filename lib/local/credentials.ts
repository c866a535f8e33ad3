import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An access key pair, as SigV4 signs with it. */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The local platform's operator credentials, and where they are kept. */
export interface OperatorCredentials extends AccessKey {
  /** `<dataDir>/credentials`, in the AWS shared credentials file format, mode 0600. */
  readonly file: string;
  /** True when this start made them (a new data directory). */
  readonly created: boolean;
}

/** Name of the credentials file in the data directory. */
export const CREDENTIALS_FILE = 'credentials';

/** The credentials are missing or unreadable; the message says how to get them. */
export class LocalCredentialsError extends Error {
  override readonly name = 'LocalCredentialsError';
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An access key id shaped like AWS's (20 characters of [A-Z2-7]), `prefix` first. */
function accessKeyIdFrom(prefix: string, seed: Uint8Array): string {
  let id = prefix;
  for (const byte of seed) {
    if (id.length === 20) break;
    id += BASE32[byte % 32];
  }
  return id;
}

/** AWS shared credentials file text (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html). */
function credentialsFileText(key: AccessKey): string {
  return [
    '# fleetkit local platform: the operator credentials for its HTTP API, KMS and IoT data endpoints.',
    '# Made for this data directory on its first start; delete the file to get new ones.',
    '[default]',
    `aws_access_key_id = ${key.accessKeyId}`,
    `aws_secret_access_key = ${key.secretAccessKey}`,
    '',
  ].join('\n');
}

/** Reads the `[default]` profile's key pair from shared credentials file text. */
export function parseCredentialsFile(text: string): AccessKey | undefined {
  return parseCredentialProfiles(text).get('default');
}

/** Every profile's key pair in shared credentials file text, by profile name. */
export function parseCredentialProfiles(text: string): Map<string, AccessKey> {
  let profile = '';
  const values = new Map<string, Record<string, string>>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section !== null) {
      profile = section[1] ?? '';
      continue;
    }
    const pair = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (pair === null || profile === '') continue;
    const entry = values.get(profile) ?? {};
    entry[pair[1] as string] = (pair[2] as string).trim();
    values.set(profile, entry);
  }
  const profiles = new Map<string, AccessKey>();
  for (const [name, entry] of values) {
    const accessKeyId = entry.aws_access_key_id;
    const secretAccessKey = entry.aws_secret_access_key;
    if (accessKeyId && secretAccessKey) profiles.set(name, { accessKeyId, secretAccessKey });
  }
  return profiles;
}

/**
 * The credentials file's other profiles: more operators (people), each with a key of their own. Those
 * named in `ensure` are made (random keys appended to the file, 0600) when missing: `release-approver`
 * lets one laptop show the two-person release approval.
 */
export async function operatorProfiles(
  dataDir: string,
  ensure: readonly string[] = [],
): Promise<Map<string, AccessKey>> {
  const file = join(dataDir, CREDENTIALS_FILE);
  let text = await readFile(file, 'utf8');
  let profiles = parseCredentialProfiles(text);
  const missing = ensure.filter((name) => !profiles.has(name));
  for (const name of missing) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name))
      throw new LocalCredentialsError(`'${name}' is not a profile name`);
    const key = {
      accessKeyId: accessKeyIdFrom('FKLO', randomBytes(20)),
      secretAccessKey: randomBytes(30).toString('base64url'),
    };
    text = `${text.trimEnd()}\n\n[${name}]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`;
  }
  if (missing.length > 0) {
    await writeFile(file, text, { mode: 0o600 });
    profiles = parseCredentialProfiles(text);
  }
  return profiles;
}

/**
 * Reads the operator credentials of the platform whose data directory is `dataDir` (what the CLI signs
 * with).
 *
 * @throws LocalCredentialsError when the file is missing or holds no `[default]` key pair
 */
export async function readLocalCredentials(dataDir: string, profile = 'default'): Promise<AccessKey> {
  const file = join(dataDir, CREDENTIALS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new LocalCredentialsError(
      `cannot read the local platform's credentials at ${file} (${(error as Error).message}): start it ` +
        'once (npm start) or name its data directory with --data-dir / FLEETKIT_DATA_DIR',
    );
  }
  const key = parseCredentialProfiles(text).get(profile);
  if (key === undefined) {
    throw new LocalCredentialsError(
      `${file} holds no [${profile}] aws_access_key_id / aws_secret_access_key`,
    );
  }
  return key;
}

/**
 * The operator credentials of the data directory: read when they exist, else made from 20 random bytes
 * (id) and 30 (secret) and written 0600 — as the deployed API's callers hold IAM credentials, the local
 * platform's callers hold these.
 */
export async function openOperatorCredentials(dataDir: string): Promise<OperatorCredentials> {
  const file = join(dataDir, CREDENTIALS_FILE);
  try {
    return { ...(await readLocalCredentials(dataDir)), file, created: false };
  } catch (error) {
    if (!(error instanceof LocalCredentialsError)) throw error;
    // A file that exists but does not parse is not overwritten: someone edited it, let them see why.
    const exists = await readFile(file).then(
      () => true,
      () => false,
    );
    if (exists) throw error;
  }
  const key = {
    accessKeyId: accessKeyIdFrom('FKLO', randomBytes(20)),
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  await mkdir(dataDir, { recursive: true });
  // `wx`: two platforms starting on one new directory do not overwrite each other's key.
  await writeFile(file, credentialsFileText(key), { mode: 0o600, flag: 'wx' });
  return { ...key, file, created: true };
}

/**
 * The key pair one function signs with: derived from the operator secret and the function's name, so it
 * is stable across restarts (presigned URLs a function issued stay attributable) and never written to
 * disk. Each function has its own, as each Lambda function has its own role in AWS.
 */
export function functionAccessKey(operator: AccessKey, functionName: string): AccessKey {
  const mac = (label: string) =>
    createHmac('sha256', operator.secretAccessKey)
      .update(`fleetkit-function-${label}:${functionName}`)
      .digest();
  return {
    accessKeyId: accessKeyIdFrom('FKLF', mac('id')),
    secretAccessKey: mac('secret').toString('base64url'),
  };
}
