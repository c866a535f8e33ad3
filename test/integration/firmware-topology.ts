import { FIRMWARE_SETTINGS } from '../../lambdas/services/firmware-setup.ts';
import type { Topology } from '../../lib/topology/model.ts';

/** The firmware API's routes, as `lib/topology.ts` is to declare them. */
export const FIRMWARE_ROUTES = [
  'POST /firmware',
  'GET /firmware',
  'GET /firmware/keys',
  'GET /firmware/{version}',
  'POST /firmware/{version}/complete',
  'GET /firmware/{version}/download',
  'DELETE /firmware/{version}',
] as const;

/**
 * The firmware registry's resources and function, as `lib/topology.ts` is to have them; tests run the
 * local platform and synthesize the CDK app with this topology until it does.
 */
export const firmwareTopology = {
  resources: {
    firmware: {
      kind: 'bucket',
      description: 'Firmware images, versioned; signed images are never overwritten in place',
      versioned: true,
    },
    firmwareCatalog: {
      kind: 'table',
      description: 'Firmware metadata: one item per version (declared size and SHA-256, signature, status)',
      partitionKey: { name: 'version', type: 'S' },
    },
    firmwareSigning: {
      kind: 'signingKey',
      description: 'Signs firmware image digests (ECDSA P-256, SHA-256); devices trust its public key',
    },
  },
  functions: {
    apiFirmware: {
      handler: 'api-firmware',
      description:
        'HTTP API: firmware registry (register, presigned upload, verify and sign, download, keys)',
      routes: FIRMWARE_ROUTES,
      uses: { firmware: 'readWrite', firmwareCatalog: 'readWrite', firmwareSigning: 'readWrite' },
      settings: FIRMWARE_SETTINGS,
      // Verifying an image streams it through SHA-256 within API Gateway's 30 s: a full vCPU helps.
      memoryMiB: 1769,
      timeoutSeconds: 29,
    },
  },
} as const satisfies Topology<'firmware' | 'firmwareCatalog' | 'firmwareSigning'>;
