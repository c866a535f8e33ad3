import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../../lib/cli/sigv4.ts';

/**
 * The CLI signs with SigV4 on node:crypto's SHA-256: checked against AWS's published SigV4 test suite
 * ("get-vanilla": a GET of / on example.amazonaws.com, service `service`, 2015-08-30 12:36:00 UTC).
 */
describe('SigV4 with the node:crypto hash', () => {
  it("reproduces AWS's get-vanilla signature", async () => {
    // Prepare
    const signer = new SignatureV4({
      service: 'service',
      region: 'us-east-1',
      credentials: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      },
      sha256: Sha256,
      // The suite's requests carry no x-amz-content-sha256 header.
      applyChecksum: false,
    });
    // Act
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: 'example.amazonaws.com',
        path: '/',
        headers: { host: 'example.amazonaws.com' },
      },
      { signingDate: new Date('2015-08-30T12:36:00Z') },
    );
    // Assess
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
});
