import type { ProvisioningTemplateBody } from '../../protocol/claim-policy.ts';
import {
  preProvisioningHookResponse,
  type RegisterThingResponse,
  registerThingRequest,
  registerThingTemplate,
} from '../../protocol/fleet-provisioning.ts';
import type { ProvisioningErrorResponse } from '../../protocol/identity.ts';
import type { ReservedApi } from '../broker.ts';
import { deleteUnclaimed } from './create-from-csr.ts';
import type { OwnershipTokens } from './ownership-tokens.ts';
import { resolveTemplate, TemplateParameterError } from './provisioning-template.ts';
import type { LocalIotRegistry } from './registry.ts';
import { IotApiError } from './state.ts';

/** A provisioning template the local broker serves, with its pre-provisioning hook. */
export interface LocalProvisioningTemplate {
  readonly templateArn: string;
  readonly body: ProvisioningTemplateBody;
  /** Invokes the hook function synchronously, as IoT does, with IoT's hook event. */
  readonly hook: (event: unknown) => Promise<unknown>;
}

class Rejection extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

function parseRequest(payload: Buffer) {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new Rejection(400, 'InvalidPayload', 'the request payload is not JSON');
  }
  const request = registerThingRequest.safeParse(json);
  if (!request.success) {
    throw new Rejection(
      400,
      'InvalidPayload',
      'the request must be {certificateOwnershipToken, parameters?} with string parameters',
    );
  }
  if (request.data.certificateOwnershipToken === '') {
    // The answer IoT gives (reported in aws/aws-iot-device-sdk-js-v2#69).
    throw new Rejection(
      400,
      'InvalidCertificateOwnershipToken',
      'Certificate ownership token cannot be empty.',
    );
  }
  return request.data;
}

/** Asks the hook; anything but a well-formed `allowProvisioning: true` denies. */
async function askHook(template: LocalProvisioningTemplate, event: Record<string, unknown>) {
  let answer: unknown;
  try {
    answer = await template.hook(event);
  } catch {
    answer = undefined;
  }
  const parsed = preProvisioningHookResponse.safeParse(answer);
  // IoT: a hook that fails or does not allow fails the request with ACCESS_DENIED
  // (https://docs.aws.amazon.com/iot/latest/developerguide/pre-provisioning-hook.html).
  if (!parsed.success || !parsed.data.allowProvisioning) {
    throw new Rejection(403, 'AccessDenied', 'The pre-provisioning hook denied the provisioning request.');
  }
  return parsed.data.parameterOverrides ?? {};
}

/**
 * IoT Core's RegisterThing MQTT API on the local broker
 * (https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html#register-thing): a
 * request `{certificateOwnershipToken, parameters}` on `$aws/provisioning-templates/{name}/provision/json`
 * is answered on the asking connection with `{thingName, deviceConfiguration}` on `/accepted`, or IoT's
 * ErrorResponse `{statusCode, errorCode, errorMessage}` on `/rejected`. As IoT does: the token must be
 * one CreateCertificateFromCsr issued within the hour; the template's pre-provisioning hook is invoked
 * with IoT's event and its `parameterOverrides` replace the device's parameters; then the template's
 * resources are made — the thing (refused if it exists with another type), the certificate ACTIVE, the
 * policy attached, the certificate attached to the thing. Codes IoT does not document are fleetkit's:
 * `InvalidPayload` (400), `ResourceNotFound` (404, no such template), `ResourceRegistrationFailure`
 * (400, the template's resources could not be made), `InternalFailure` (500).
 */
export function registerThingApi(options: {
  readonly registry: LocalIotRegistry;
  readonly tokens: OwnershipTokens;
  /** The templates by name; looked up per request (the hook functions load after the broker starts). */
  readonly templates: () => ReadonlyMap<string, LocalProvisioningTemplate>;
}): ReservedApi {
  const { registry, tokens } = options;
  const provision = async (
    templateName: string,
    payload: Buffer,
    clientId: string,
    principal: string,
  ): Promise<RegisterThingResponse> => {
    const template = options.templates().get(templateName);
    if (template === undefined)
      throw new Rejection(404, 'ResourceNotFound', `Provisioning template ${templateName} not found.`);
    const request = parseRequest(payload);
    await deleteUnclaimed(registry, tokens);
    const certificateId = tokens.certificateOf(request.certificateOwnershipToken);
    const certificate = certificateId === undefined ? undefined : registry.describeCertificate(certificateId);
    if (certificateId === undefined || certificate === undefined) {
      throw new Rejection(
        400,
        'InvalidCertificateOwnershipToken',
        'The certificate ownership token is not valid or has expired.',
      );
    }
    const overrides = await askHook(template, {
      claimCertificateId: principal,
      certificateId,
      certificatePem: certificate.certificateDescription.certificatePem,
      templateArn: template.templateArn,
      clientId,
      parameters: request.parameters ?? {},
    });
    const resolved = resolveTemplate(template.body, { ...request.parameters, ...overrides }, certificateId);
    const arn = certificate.certificateDescription.certificateArn;
    // A thing that exists with another type is a conflict (the template's ThingTypeName: FAIL).
    await registry.createThing(resolved.thingName, resolved.thingTypeName);
    await registry.updateCertificate(certificateId, resolved.certificateStatus);
    await registry.attachPolicy(resolved.policyName, arn);
    await registry.attachThingPrincipal(resolved.thingName, arn);
    return { thingName: resolved.thingName, deviceConfiguration: { ...resolved.deviceConfiguration } };
  };

  return {
    matches: (topic) => registerThingTemplate(topic) !== undefined,
    async answer({ topic, payload, clientId, principal }) {
      const templateName = registerThingTemplate(topic) ?? '';
      try {
        const accepted = await provision(templateName, payload, clientId, principal);
        return { topic: `${topic}/accepted`, payload: JSON.stringify(accepted) };
      } catch (error) {
        let body: ProvisioningErrorResponse;
        if (error instanceof Rejection) {
          body = { statusCode: error.statusCode, errorCode: error.errorCode, errorMessage: error.message };
        } else if (error instanceof TemplateParameterError || error instanceof IotApiError) {
          body = { statusCode: 400, errorCode: 'ResourceRegistrationFailure', errorMessage: error.message };
        } else {
          body = {
            statusCode: 500,
            errorCode: 'InternalFailure',
            errorMessage: 'the thing could not be registered',
          };
        }
        return { topic: `${topic}/rejected`, payload: JSON.stringify(body) };
      }
    },
  };
}
