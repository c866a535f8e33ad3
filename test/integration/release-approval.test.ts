import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessKey } from '../../lib/local/credentials.ts';
import { parseCredentialProfiles } from '../../lib/local/credentials.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { signedFetch } from '../support/signing.ts';
import { firmwareTopology } from './firmware-topology.ts';

/**
 * Issue 12, release approval: with `FIRMWARE_REQUIRE_APPROVAL=true` (`-c fleetkit:requireApproval=true`
 * in AWS) an image is signed only after another principal than its uploader approves it; the principal is
 * API Gateway's IAM authorizer's, which the local gateway fills from the SigV4 access key.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON bodies field by field
type Json = any;

describe('release approval on the local platform', () => {
  let t: TestPlatform;
  let approver: AccessKey;

  const call = async (method: string, path: string, body?: unknown, credentials?: AccessKey) => {
    const response = await signedFetch(t.platform, path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(credentials === undefined ? {} : { credentials }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  beforeAll(async () => {
    t = await startTestPlatform({
      topology: firmwareTopology,
      settings: { FIRMWARE_REQUIRE_APPROVAL: 'true' },
      operatorProfiles: ['release-approver'],
    });
    const profiles = parseCredentialProfiles(await readFile(join(t.dataDir, 'credentials'), 'utf8'));
    approver = profiles.get('release-approver') as AccessKey;
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('signs only after another principal approved, and records who uploaded and who approved', async () => {
    // Prepare: the operator registers and uploads.
    const bytes = randomBytes(2048);
    const registered = await call('POST', '/firmware', {
      version: '5.0.0',
      deviceTypes: ['tracker'],
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    await fetch(registered.body.upload.url, { method: 'PUT', body: bytes });
    // Act
    const completed = await call('POST', '/firmware/5.0.0/complete');
    const selfApproved = await call('POST', '/firmware/5.0.0/approve');
    const approved = await call('POST', '/firmware/5.0.0/approve', undefined, approver);
    const listed = await call('GET', '/firmware?status=available');
    // Assess: verified but not signed, not sendable, until approved by someone else
    expect(completed.body).toMatchObject({
      status: 'pending-approval',
      registeredBy: 'arn:aws:iam::000000000000:user/default',
      uploadedBy: 'arn:aws:iam::000000000000:user/default',
    });
    expect(completed.body.manifest).toBeUndefined();
    expect(completed.body.signature).toBeUndefined();
    expect(selfApproved).toMatchObject({ status: 403, body: { code: 'SelfApproval' } });
    expect(approved.body).toMatchObject({
      status: 'available',
      uploadedBy: 'arn:aws:iam::000000000000:user/default',
      approvedBy: 'arn:aws:iam::000000000000:user/release-approver',
      approvedAt: expect.any(String),
      manifest: { purpose: 'firmware', version: '5.0.0' },
    });
    expect(listed.body.firmware.map((f: Json) => f.version)).toEqual(['5.0.0']);
  });

  it('refuses to approve what is not waiting for approval', async () => {
    const unknown = await call('POST', '/firmware/6.0.0/approve', undefined, approver);
    expect(unknown.status).toBe(404);
  });
});
