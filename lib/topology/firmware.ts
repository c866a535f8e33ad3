import type { FunctionSpec, Resource } from './model.ts';

/**
 * The firmware and edge models' part of `lib/topology.ts`: the bucket, the catalogs, the signing keys
 * and the two registry APIs.
 */

/** Firmware URLs: an hour to upload an image; fifteen minutes to start a download (a device asks again). */
export const FIRMWARE_SETTINGS = {
  FIRMWARE_UPLOAD_URL_SECONDS: '3600',
  FIRMWARE_DOWNLOAD_URL_SECONDS: '900',
} as const;

/** The firmware bucket, the firmware and model catalogs, and the signing keys devices trust. */
export const FIRMWARE_RESOURCES = {
  firmware: {
    kind: 'bucket',
    description:
      'Firmware images (images/), their verified deltas (deltas/) and edge anomaly models (models/), versioned; signed objects are never overwritten in place',
    versioned: true,
  },
  firmwareCatalog: {
    kind: 'table',
    description: 'Firmware metadata: one item per version (declared size and SHA-256, signature, status)',
    partitionKey: { name: 'version', type: 'S' },
  },
  modelCatalog: {
    kind: 'table',
    description:
      'Edge anomaly model metadata: one item per version (declared size and SHA-256, signature, status)',
    partitionKey: { name: 'version', type: 'S' },
  },
  firmwareSigning: {
    kind: 'signingKey',
    description: 'Signs firmware release manifests (ECDSA P-256, SHA-256); devices trust it for firmware',
    purpose: 'firmware',
  },
  modelSigning: {
    kind: 'signingKey',
    description: 'Signs anomaly model release manifests; devices trust it for models only',
    purpose: 'model',
  },
  keySetSigning: {
    kind: 'signingKey',
    description: 'Signs the key set devices trust (key rollover documents): the root of their trust',
    purpose: 'keyset',
  },
  rollbackSigning: {
    kind: 'signingKey',
    description:
      'Signs rollback authorizations for the devices of one rollback job; devices trust it for rollback',
    purpose: 'rollback',
  },
} as const satisfies Readonly<Record<string, Resource>>;

type FirmwareResourceName = keyof typeof FIRMWARE_RESOURCES | 'rollouts';

/** The firmware and model registry APIs. */
export const FIRMWARE_FUNCTIONS = {
  apiFirmware: {
    handler: 'api-firmware',
    description: 'HTTP API: firmware registry (register, presigned upload, verify and sign, download, keys)',
    routes: [
      'POST /firmware',
      'GET /firmware',
      'GET /firmware/keys',
      'POST /firmware/keys/rollover',
      'GET /firmware/{version}',
      'POST /firmware/{version}/complete',
      'POST /firmware/{version}/approve',
      'POST /firmware/{version}/deltas',
      'POST /firmware/{version}/deltas/{fromVersion}/complete',
      'GET /firmware/{version}/download',
      'DELETE /firmware/{version}',
    ],
    uses: {
      firmware: 'readWrite',
      // GET /firmware lists the catalog (a Scan); a refused upload's registration is deleted.
      firmwareCatalog: ['readWrite', 'scan', 'delete'],
      firmwareSigning: 'readWrite',
      // The key set names every key devices trust, and is signed by the root.
      modelSigning: 'read',
      rollbackSigning: 'read',
      keySetSigning: 'readWrite',
      // Whether an unfinished rollout installs a version: a Scan of the (few) rollouts.
      rollouts: ['read', 'scan'],
    },
    settings: {
      ...FIRMWARE_SETTINGS,
      FIRMWARE_MANIFEST_VALIDITY_DAYS: '365',
      // `-c fleetkit:requireApproval=true`: a second principal approves before anything is signed.
      FIRMWARE_REQUIRE_APPROVAL: 'false',
    },
    memoryMiB: 1769,
    timeoutSeconds: 29,
  },
  apiModels: {
    handler: 'api-models',
    description:
      'HTTP API: edge model registry (register, presigned upload, check against the feature contract, sign)',
    routes: [
      'POST /models',
      'GET /models',
      'GET /models/{version}',
      'POST /models/{version}/complete',
      'POST /models/{version}/approve',
      'GET /models/{version}/download',
      'DELETE /models/{version}',
    ],
    uses: {
      // Models live beside the images, under models/.
      firmware: 'readWrite',
      // GET /models lists the catalog (a Scan); a refused upload's registration is deleted.
      modelCatalog: ['readWrite', 'scan', 'delete'],
      modelSigning: 'readWrite',
      // Whether an unfinished rollout installs a model version: a Scan of the (few) rollouts.
      rollouts: ['read', 'scan'],
    },
    settings: {
      ...FIRMWARE_SETTINGS,
      FIRMWARE_MANIFEST_VALIDITY_DAYS: '365',
      FIRMWARE_REQUIRE_APPROVAL: 'false',
    },
    memoryMiB: 1024,
    timeoutSeconds: 29,
  },
} as const satisfies Readonly<Record<string, FunctionSpec<FirmwareResourceName>>>;
