import { describe, expect, it } from 'vitest';
import { ROLLBACK_GRANT_SECONDS, rollbackGrant } from '../../../../lambdas/domain/rollout/rollback-grant.ts';
import { rollbackManifest } from '../../../../lib/protocol/manifest.ts';
import { verifyInclusion } from '../../../../lib/protocol/merkle.ts';

const NOW = Date.UTC(2030, 0, 1);
const batch = {
  rolloutId: 'r-1',
  jobId: 'r-1-rollback-0',
  target: 'firmware' as const,
  version: '1.0.0',
  sha256: 'ab'.repeat(32),
  things: ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004', 'sim-0005'],
};

describe('rollbackGrant', () => {
  it('names the rollout, the job, the image and the devices, valid for the rollback watch', () => {
    const { manifest } = rollbackGrant(batch, NOW);
    expect(rollbackManifest.parse(manifest)).toEqual({
      purpose: 'rollback',
      target: 'firmware',
      rolloutId: 'r-1',
      jobId: 'r-1-rollback-0',
      version: '1.0.0',
      sha256: 'ab'.repeat(32),
      devices: { count: 5, root: expect.stringMatching(/^[0-9a-f]{64}$/) },
      issuedAt: NOW / 1000,
      expiresAt: NOW / 1000 + ROLLBACK_GRANT_SECONDS,
    });
  });

  it("gives each device a proof of its own name, and no device another's", () => {
    const { manifest, proofs } = rollbackGrant(batch, NOW);
    const { count, root } = manifest.devices;
    for (const thing of batch.things) {
      const proof = proofs.get(thing);
      if (proof === undefined) throw new Error(`no proof for ${thing}`);
      expect(verifyInclusion(thing, proof, count, root)).toBe(true);
      expect(verifyInclusion('sim-0099', proof, count, root)).toBe(false);
    }
  });
});
