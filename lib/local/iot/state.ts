import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * What the local IoT control plane keeps, as AWS IoT keeps it: thing types, things, certificates, which
 * certificates are attached to which things (and how: exclusively or not), and which policies are
 * attached to which certificates. One JSON file under `<dataDir>/iot/`, replaced atomically on each
 * change, so the registry survives restarts as IoT's does.
 */

/** AWS IoT certificate statuses. */
export type CertificateStatus =
  | 'ACTIVE'
  | 'INACTIVE'
  | 'REVOKED'
  | 'PENDING_TRANSFER'
  | 'REGISTER_INACTIVE'
  | 'PENDING_ACTIVATION';

export interface StoredThingType {
  readonly thingTypeName: string;
  readonly thingTypeId: string;
  readonly thingTypeArn: string;
  readonly description?: string;
  /** Epoch ms. */
  readonly creationDate: number;
}

export interface StoredThing {
  readonly thingName: string;
  readonly thingId: string;
  readonly thingArn: string;
  readonly thingTypeName?: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly version: number;
}

export interface StoredCertificate {
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly certificatePem: string;
  readonly status: CertificateStatus;
  /** Epoch ms. */
  readonly creationDate: number;
  readonly lastModifiedDate: number;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A certificate attached to a thing, as ListThingPrincipalsV2 shows it. */
export interface ThingPrincipal {
  readonly principal: string;
  readonly thingPrincipalType: 'EXCLUSIVE_THING' | 'NON_EXCLUSIVE_THING';
}

export interface RegistryState {
  thingTypes: Record<string, StoredThingType>;
  things: Record<string, StoredThing>;
  certificates: Record<string, StoredCertificate>;
  /** Thing name → its principals. */
  thingPrincipals: Record<string, ThingPrincipal[]>;
  /** Policy name → the targets (certificate ARNs) it is attached to. */
  policyTargets: Record<string, string[]>;
}

/**
 * An error as AWS IoT's REST API returns it: `type` is the exception name the SDK throws
 * (`x-amzn-ErrorType`), `status` the HTTP status its model gives it.
 */
export class IotApiError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The exceptions fleetkit's operations raise, with the status `@aws-sdk/client-iot` models for each. */
export const iotError = {
  notFound: (message: string) => new IotApiError('ResourceNotFoundException', 404, message),
  alreadyExists: (message: string) => new IotApiError('ResourceAlreadyExistsException', 409, message),
  invalidRequest: (message: string) => new IotApiError('InvalidRequestException', 400, message),
  certificateState: (message: string) => new IotApiError('CertificateStateException', 406, message),
  deleteConflict: (message: string) => new IotApiError('DeleteConflictException', 409, message),
  certificateValidation: (message: string) => new IotApiError('CertificateValidationException', 400, message),
} as const;

export function emptyState(): RegistryState {
  return { thingTypes: {}, things: {}, certificates: {}, thingPrincipals: {}, policyTargets: {} };
}

/** Reads the state file; a missing file is an empty registry. @throws Error when the file is damaged */
export async function loadState(file: string): Promise<RegistryState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<RegistryState>;
  return { ...emptyState(), ...parsed };
}

/** Replaces the state file atomically (write a sibling, then rename over it). */
export async function saveState(file: string, state: RegistryState): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(state), { mode: 0o600 });
  await rename(temp, file);
}
