import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { provisionDeviceResponse } from '../../../lib/protocol/identity.ts';
import { THING_NAME_PATTERN } from '../../../lib/protocol/topics.ts';
import { writeFileAtomic } from '../ota/atomic-file.ts';
import { IdentityFiles } from './identity-files.ts';
import { certificateMatchesKey, makeKeyAndCsr } from './key-pair.ts';

/** Where the command reads and writes, and how it talks. */
export interface ProvisionIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  /** Reads standard input (`--response -`). */
  readonly stdin?: () => Promise<string>;
}

/** A provisioning step that cannot be done as asked. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

export const PROVISION_USAGE = `Usage:
  provision csr --thing <name> [--key-file <path>] [--csr-file <path>] [--new-key]
      Makes the device's own ECDSA P-256 key (written 0600; kept if one exists, unless --new-key) and a
      CSR for it; prints the CSR. Submit it with \`fleetkit devices provision\` (POST /devices).
  provision install --response <file|-> [--key-file <path>] [--cert-file <path>] [--ca-file <path>]
      Stores the certificate and CA of the answer to POST /devices, checked against the device's key,
      and prints the settings the agent connects with.
Defaults: FLEETKIT_KEY_FILE / FLEETKIT_CERT_FILE / FLEETKIT_CA_FILE, else <FLEETKIT_DATA_DIR>/identity/device.{key,crt}, ca.pem.`;

function paths(env: ProvisionIo['env'], values: Record<string, unknown>) {
  const dir = join(env.FLEETKIT_DATA_DIR || './fleetkit-edge-data', 'identity');
  const pick = (flag: string, variable: string, file: string) =>
    (typeof values[flag] === 'string' ? (values[flag] as string) : undefined) ||
    env[variable] ||
    join(dir, file);
  return {
    keyFile: pick('key-file', 'FLEETKIT_KEY_FILE', 'device.key'),
    certFile: pick('cert-file', 'FLEETKIT_CERT_FILE', 'device.crt'),
    caFile: pick('ca-file', 'FLEETKIT_CA_FILE', 'ca.pem'),
    csrFile: pick('csr-file', 'FLEETKIT_CSR_FILE', 'device.csr'),
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The agent's `provision` command: the device's half of provisioning by CSR. The private key is made
 * here and stays in its file; the operator (or factory line) submits only the CSR and brings back the
 * answer. Nothing here needs credentials for the platform's API.
 *
 * @throws ProvisionError for a wrong invocation or an answer that does not fit the device's key
 */
export async function runProvision(argv: readonly string[], io: ProvisionIo): Promise<void> {
  const [step, ...rest] = argv;
  const { values } = parseArgs({
    args: [...rest],
    options: {
      thing: { type: 'string' },
      response: { type: 'string' },
      'key-file': { type: 'string' },
      'cert-file': { type: 'string' },
      'ca-file': { type: 'string' },
      'csr-file': { type: 'string' },
      'new-key': { type: 'boolean' },
    },
  });
  const files = paths(io.env, values);
  const identity = new IdentityFiles({ keyFile: files.keyFile, certFile: files.certFile });
  if (step === 'csr') {
    const thing = values.thing ?? io.env.FLEETKIT_THING_NAME;
    if (thing === undefined || !THING_NAME_PATTERN.test(thing))
      throw new ProvisionError(
        `--thing must be a thing name ([a-zA-Z0-9:_-]{1,128}); got ${String(thing)}\n${PROVISION_USAGE}`,
      );
    const made = await makeKeyAndCsr(thing);
    if (values['new-key'] === true || !(await exists(files.keyFile))) {
      for (const file of [files.keyFile, files.csrFile])
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await identity.install({ keyPem: made.keyPem });
      await writeFileAtomic(files.csrFile, made.csrPem);
      io.out(made.csrPem);
      return;
    }
    throw new ProvisionError(
      `${files.keyFile} exists: the device already has a key. Its CSR is in ${files.csrFile}; pass --new-key to replace the key`,
    );
  }
  if (step === 'install') {
    const source = values.response;
    if (source === undefined) throw new ProvisionError(`--response is required\n${PROVISION_USAGE}`);
    const text =
      source === '-' ? await (io.stdin?.() ?? Promise.resolve('')) : await readFile(source, 'utf8');
    const parsed = provisionDeviceResponse.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new ProvisionError(`the answer is not a POST /devices answer: ${parsed.error.message}`);
    const answer = parsed.data;
    const keyPem = await readFile(files.keyFile, 'utf8');
    if (!certificateMatchesKey(answer.certificatePem, keyPem))
      throw new ProvisionError(`the certificate in the answer is not for the key in ${files.keyFile}`);
    await identity.install({ certPem: answer.certificatePem });
    if (answer.caPem !== undefined) await writeFileAtomic(files.caFile, answer.caPem);
    io.out(
      [
        `FLEETKIT_TRANSPORT=mqtt`,
        `FLEETKIT_THING_NAME=${answer.thingName}`,
        `FLEETKIT_THING_TYPE=${answer.thingType}`,
        `FLEETKIT_MQTT_URL=${answer.endpoint}`,
        `FLEETKIT_KEY_FILE=${files.keyFile}`,
        `FLEETKIT_CERT_FILE=${files.certFile}`,
        `FLEETKIT_CA_FILE=${answer.caPem === undefined ? `<the CA at ${answer.caUrl ?? 'your endpoint'}>` : files.caFile}`,
        '',
      ].join('\n'),
    );
    return;
  }
  throw new ProvisionError(PROVISION_USAGE);
}
