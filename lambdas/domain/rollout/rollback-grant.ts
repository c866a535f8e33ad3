import type { RollbackManifest } from '../../../lib/protocol/manifest.ts';
import { type InclusionProof, merkleTree } from '../../../lib/protocol/merkle.ts';
import { ROLLBACK_WATCH_DAYS } from './rollback.ts';

/**
 * Rollback authorizations (issue 12): devices refuse an image below their anti-rollback floor unless
 * the service signed a permission for this rollout, this rollback job, this image and this device.
 * One batch of rollback executions gets one manifest naming its devices by a Merkle root (RFC 9162),
 * so one KMS signature covers any number of devices, and each execution carries its device's proof.
 */

/** One batch of devices sent back to one image by one rollback job. */
export interface RollbackBatch {
  readonly rolloutId: string;
  readonly jobId: string;
  readonly target: 'firmware' | 'model';
  readonly version: string;
  /** The image's SHA-256, from its signed release manifest. */
  readonly sha256: string;
  readonly things: readonly string[];
}

/**
 * How long a rollback authorization is valid: as long as the rollback watch, since a device that
 * sleeps through the rollback may pick its execution up days later.
 */
export const ROLLBACK_GRANT_SECONDS = ROLLBACK_WATCH_DAYS * 86_400;

/** The manifest to sign for `batch`, and each thing's inclusion proof. */
export function rollbackGrant(
  batch: RollbackBatch,
  nowMs: number,
  validitySeconds = ROLLBACK_GRANT_SECONDS,
): { readonly manifest: RollbackManifest; readonly proofs: ReadonlyMap<string, InclusionProof> } {
  const tree = merkleTree(batch.things);
  const issuedAt = Math.floor(nowMs / 1000);
  return {
    manifest: {
      purpose: 'rollback',
      target: batch.target,
      rolloutId: batch.rolloutId,
      jobId: batch.jobId,
      version: batch.version,
      sha256: batch.sha256,
      devices: { count: tree.count, root: tree.root },
      issuedAt,
      expiresAt: issuedAt + validitySeconds,
    },
    proofs: new Map(batch.things.map((thing, i) => [thing, tree.proof(i)])),
  };
}
