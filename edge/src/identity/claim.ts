import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import {
  CLAIM_CLIENT_ID_PREFIX,
  CLAIM_PARAMETERS,
  DEVICE_CONFIGURATION_THING_TYPE,
  registerThingResponse,
  registerThingTopic,
} from '../../../lib/protocol/fleet-provisioning.ts';
import { createCertificateFromCsrResponse } from '../../../lib/protocol/identity.ts';
import { CREATE_FROM_CSR_TOPIC } from '../../../lib/protocol/identity-topics.ts';
import { writeFileAtomic } from '../ota/atomic-file.ts';
import type { Clock } from '../ota/ports.ts';
import type { DeviceTransport } from '../transport/ports.ts';
import { IdentityFiles } from './identity-files.ts';
import { certificateMatchesKey, makeKeyAndCsr } from './key-pair.ts';
import { IdentityRequestError, requestReply } from './request.ts';

/** The environment a device provisioning itself by claim reads. */
export const CLAIM_ENV = {
  /** The shared claim certificate and its key, as the factory installed them. */
  certFile: 'FLEETKIT_CLAIM_CERT_FILE',
  keyFile: 'FLEETKIT_CLAIM_KEY_FILE',
  /** The provisioning template (`fleetkit-<stage>-factory`). */
  template: 'FLEETKIT_PROVISIONING_TEMPLATE',
  /** The device's serial number; it becomes the thing name. @default FLEETKIT_THING_NAME */
  serialNumber: 'FLEETKIT_SERIAL_NUMBER',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** The thing a device was provisioned as, kept beside its certificate. */
const provisionedThing = z.object({ thingName: z.string().min(1), thingType: z.string().min(1) });

/** What a claim in progress keeps, so a restart finishes it with the same certificate (its serial is used once). */
const pendingClaim = z.object({ serialNumber: z.string(), certificateOwnershipToken: z.string() });

/** Provisioning by claim cannot go on as configured, or the platform refused it. */
export class ClaimError extends Error {
  override readonly name = 'ClaimError';

  constructor(
    message: string,
    /** IoT's `errorCode` when the platform answered on `/rejected`. */
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

/** Opens an MQTT connection with the claim certificate (the agent's own MQTT transport, in production). */
export type ClaimConnector = (options: {
  readonly clientId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}) => DeviceTransport;

export interface ClaimDependencies {
  readonly connect: ClaimConnector;
  readonly clock: Clock;
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    return schema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return undefined;
  }
}

/** The device's identity files, where the provisioning command puts them too. */
function identityPaths(env: Env) {
  const dir = join(env.FLEETKIT_DATA_DIR || './fleetkit-edge-data', 'identity');
  const keyFile = env.FLEETKIT_KEY_FILE || join(dir, 'device.key');
  const certFile = env.FLEETKIT_CERT_FILE || join(dir, 'device.crt');
  return {
    keyFile,
    certFile,
    caFile: env.FLEETKIT_CA_FILE || join(dir, 'ca.pem'),
    thingFile: join(dirname(certFile), 'thing.json'),
    pendingFile: join(dirname(certFile), 'claim.json'),
  };
}

/** Waits until the transport is connected, or gives up after `timeoutMs`. */
async function connected(transport: DeviceTransport, clock: Clock, timeoutMs: number): Promise<void> {
  if (transport.state === 'connected') return;
  const abort = new AbortController();
  let off: () => void = () => {};
  const up = new Promise<boolean>((resolve) => {
    off = transport.onStateChange((state) => state === 'connected' && resolve(true));
  });
  const late = clock.sleep(timeoutMs, abort.signal).then(
    () => false,
    () => false,
  );
  try {
    if (!(await Promise.race([up, late])))
      throw new ClaimError(`the claim certificate did not connect within ${timeoutMs} ms`);
  } finally {
    off();
    abort.abort();
  }
}

/**
 * The agent's first start with a claim certificate and no device certificate: it provisions itself by
 * claim, as a device built with the AWS IoT Device SDK does
 * (https://docs.aws.amazon.com/iot/latest/developerguide/provision-wo-cert.html). Connected with the
 * claim certificate (client id `claim-<serial>`), it makes its own key and CSR (the key never leaves it),
 * gets a certificate with CreateCertificateFromCsr, and RegisterThing of the template with its serial
 * number; the key, the certificate and a small `thing.json` (thing name and type) are then written beside
 * one another. The new key and certificate are staged before RegisterThing and the token kept (0600), so
 * a restart after the request finishes with the same certificate: the hook admits a serial once, but the
 * same certificate again.
 *
 * Without a claim certificate, or with a device certificate, nothing is asked: the thing name and type
 * of an earlier claim fill in what the environment leaves unset.
 *
 * @returns the environment the agent runs with
 * @throws ClaimError when the settings are incomplete or the platform refuses (its error is in the message)
 */
export async function claimOnFirstStart(env: Env, deps: ClaimDependencies): Promise<Env> {
  const paths = identityPaths(env);
  const withThing = (thing: z.output<typeof provisionedThing>): Env => ({
    ...env,
    FLEETKIT_THING_NAME: env.FLEETKIT_THING_NAME || thing.thingName,
    FLEETKIT_THING_TYPE: env.FLEETKIT_THING_TYPE || thing.thingType,
    FLEETKIT_KEY_FILE: paths.keyFile,
    FLEETKIT_CERT_FILE: paths.certFile,
    FLEETKIT_CA_FILE: paths.caFile,
  });
  if (await exists(paths.certFile)) {
    const earlier = await readJson(paths.thingFile, provisionedThing);
    return earlier === undefined ? env : withThing(earlier);
  }
  const claimCert = env[CLAIM_ENV.certFile];
  const claimKey = env[CLAIM_ENV.keyFile];
  if (!claimCert || !claimKey || env.FLEETKIT_TRANSPORT === 'greengrass') return env;
  const template = env[CLAIM_ENV.template];
  const serial = env[CLAIM_ENV.serialNumber] || env.FLEETKIT_THING_NAME;
  if (!template || !serial) {
    throw new ClaimError(
      `provisioning by claim needs ${CLAIM_ENV.template} and ${CLAIM_ENV.serialNumber} (or FLEETKIT_THING_NAME)`,
    );
  }
  const log = deps.log ?? (() => {});
  const transport = deps.connect({
    clientId: `${CLAIM_CLIENT_ID_PREFIX}${serial}`,
    certPem: await readFile(claimCert, 'utf8'),
    keyPem: await readFile(claimKey, 'utf8'),
    caPem: await readFile(paths.caFile, 'utf8'),
  });
  try {
    const timeoutMs = deps.timeoutMs ?? 30_000;
    await connected(transport, deps.clock, timeoutMs);
    const files = new IdentityFiles({ keyFile: paths.keyFile, certFile: paths.certFile });
    const request = (topic: string, body: unknown) =>
      requestReply(transport, deps.clock, topic, body, timeoutMs).catch((error: unknown) => {
        if (!(error instanceof IdentityRequestError)) throw error;
        const code = error.rejected?.errorCode;
        throw new ClaimError(error.message, typeof code === 'string' ? code : undefined);
      });
    let pending = await readJson(paths.pendingFile, pendingClaim);
    if (pending?.serialNumber !== serial || !(await exists(`${paths.certFile}.next`))) {
      await mkdir(dirname(paths.certFile), { recursive: true, mode: 0o700 });
      const { keyPem, csrPem } = await makeKeyAndCsr(serial);
      await files.stageKey(keyPem);
      const created = createCertificateFromCsrResponse.parse(
        await request(CREATE_FROM_CSR_TOPIC, { certificateSigningRequest: csrPem }),
      );
      if (!certificateMatchesKey(created.certificatePem, keyPem))
        throw new ClaimError('the certificate issued is not for the key the device made');
      await files.stageCertificate(created.certificatePem);
      pending = { serialNumber: serial, certificateOwnershipToken: created.certificateOwnershipToken };
      await writeFileAtomic(paths.pendingFile, JSON.stringify(pending));
      log('claim-certificate-issued', { certificateId: created.certificateId, serialNumber: serial });
    }
    const registered = registerThingResponse.parse(
      await request(registerThingTopic(template), {
        certificateOwnershipToken: pending.certificateOwnershipToken,
        parameters: { [CLAIM_PARAMETERS.serialNumber]: serial },
      }).catch(async (error: unknown) => {
        // A token past its hour (a long outage between the two requests): start over on the next start.
        if (error instanceof ClaimError && error.errorCode === 'InvalidCertificateOwnershipToken') {
          await rm(paths.pendingFile, { force: true });
          await files.discardStaged();
        }
        throw error;
      }),
    );
    const thingType = registered.deviceConfiguration[DEVICE_CONFIGURATION_THING_TYPE];
    if (thingType === undefined)
      throw new ClaimError(`the template's answer names no ${DEVICE_CONFIGURATION_THING_TYPE}`);
    const thing = { thingName: registered.thingName, thingType };
    await writeFileAtomic(paths.thingFile, JSON.stringify(thing));
    for (const file of [paths.keyFile, paths.certFile]) await rename(`${file}.next`, file);
    await rm(paths.pendingFile, { force: true });
    log('provisioned-by-claim', thing);
    return withThing(thing);
  } finally {
    await transport.close();
  }
}
