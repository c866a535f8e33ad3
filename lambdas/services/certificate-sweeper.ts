import type { CertificateStore, ThingRegistry } from '../domain/identity/ports.ts';

export interface CertificateSweeperProps {
  readonly things: ThingRegistry;
  readonly certificates: CertificateStore;
  /** Shards of the retiring index. */
  readonly shards: number;
  /** Most certificates deleted per shard per run. @default 100 */
  readonly batch?: number;
}

/**
 * Deletes certificates retired by a rotation once their grace period has passed: detached from the
 * thing and the device policy, then deleted in IoT (which allows deleting only an INACTIVE, detached
 * certificate), then recorded as DELETED — the record stays for the audit. Each step may be repeated.
 * Revoked certificates are never deleted: they stay REVOKED, detached, as evidence.
 */
export class CertificateSweeper {
  constructor(private readonly props: CertificateSweeperProps) {}

  /** @returns how many certificates were deleted */
  async sweep(now: number): Promise<number> {
    const { things, certificates, shards } = this.props;
    let deleted = 0;
    for (let shard = 0; shard < shards; shard++) {
      for (const record of await certificates.dueForDeletion(shard, now, this.props.batch ?? 100)) {
        if (record.status !== 'INACTIVE') continue;
        await things.detachFromThing(record.deviceId, record.certificateArn);
        await things.detachDevicePolicy(record.certificateArn);
        await things.deleteCertificate(record.certificateId);
        const { deleteAfter: _done, ...kept } = record;
        await certificates.put({ ...kept, status: 'DELETED', deletedAt: now });
        deleted++;
      }
    }
    return deleted;
  }
}
