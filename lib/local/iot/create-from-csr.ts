import {
  type CreateCertificateFromCsrResponse,
  createCertificateFromCsrRequest,
  type ProvisioningErrorResponse,
} from '../../protocol/identity.ts';
import {
  CREATE_FROM_CSR_ACCEPTED_TOPIC,
  CREATE_FROM_CSR_REJECTED_TOPIC,
  CREATE_FROM_CSR_TOPIC,
} from '../../protocol/identity-topics.ts';
import type { ReservedApi } from '../broker.ts';
import type { OwnershipTokens } from './ownership-tokens.ts';
import type { LocalIotRegistry } from './registry.ts';
import { IotApiError } from './state.ts';

/**
 * IoT Core's CreateCertificateFromCsr MQTT API on the local broker
 * (https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html): a JSON request
 * `{certificateSigningRequest}` on `$aws/certificates/create-from-csr/json` is answered on the asking
 * connection with `{certificateId, certificatePem, certificateOwnershipToken}` on `/accepted`, or with
 * IoT's ErrorResponse `{statusCode, errorCode, errorMessage}` on `/rejected`. The certificate is signed
 * by the local CA and registered PENDING_ACTIVATION: it can do nothing until something activates it
 * and attaches it (fleetkit's `identity/activate`, or RegisterThing with the ownership token). AWS does
 * not list the error codes; locally a request that is not JSON or lacks the CSR is `InvalidPayload`, a
 * CSR that does not verify is `InvalidCertificateSigningRequest`, both with status 400. As in IoT, a
 * certificate nothing activated within its token's hour is deleted.
 */
export function createFromCsrApi(registry: LocalIotRegistry, tokens: OwnershipTokens): ReservedApi {
  const reject = (statusCode: number, errorCode: string, errorMessage: string) => {
    const body: ProvisioningErrorResponse = { statusCode, errorCode, errorMessage };
    return { topic: CREATE_FROM_CSR_REJECTED_TOPIC, payload: JSON.stringify(body) };
  };
  return {
    matches: (topic) => topic === CREATE_FROM_CSR_TOPIC,
    async answer({ payload }) {
      await deleteUnclaimed(registry, tokens);
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        return reject(400, 'InvalidPayload', 'the request payload is not JSON');
      }
      const request = createCertificateFromCsrRequest.safeParse(json);
      if (!request.success) {
        return reject(
          400,
          'InvalidPayload',
          'certificateSigningRequest must be a PEM CSR of at most 4096 characters',
        );
      }
      try {
        const created = await registry.createCertificateFromCsr(
          request.data.certificateSigningRequest,
          'PENDING_ACTIVATION',
        );
        const body: CreateCertificateFromCsrResponse = {
          certificateId: created.certificateId,
          certificatePem: created.certificatePem,
          certificateOwnershipToken: tokens.issue(created.certificateId),
        };
        return { topic: CREATE_FROM_CSR_ACCEPTED_TOPIC, payload: JSON.stringify(body) };
      } catch (error) {
        if (error instanceof IotApiError && error.status === 400) {
          return reject(400, 'InvalidCertificateSigningRequest', error.message);
        }
        return reject(500, 'InternalFailure', 'the certificate could not be made');
      }
    },
  };
}

/**
 * Deletes the certificates whose ownership token expired while they were still PENDING_ACTIVATION, as
 * IoT does an hour after CreateCertificateFromCsr. Ones activated, or gone, are left alone.
 */
export async function deleteUnclaimed(registry: LocalIotRegistry, tokens: OwnershipTokens): Promise<void> {
  for (const certificateId of tokens.expire()) {
    let status: string | undefined;
    try {
      status = registry.describeCertificate(certificateId).certificateDescription.status;
    } catch {
      status = undefined; // deleted already
    }
    if (status === 'PENDING_ACTIVATION') await registry.deleteCertificate(certificateId, true);
  }
}
