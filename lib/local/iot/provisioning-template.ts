import {
  CERTIFICATE_ID_PARAMETER,
  type ProvisioningTemplateBody,
  type TemplateValue,
} from '../../protocol/claim-policy.ts';

/** A template that cannot be resolved with the request's parameters. */
export class TemplateParameterError extends Error {
  override readonly name = 'TemplateParameterError';
}

/** What RegisterThing does, once the template's references are resolved. */
export interface ResolvedTemplate {
  readonly thingName: string;
  readonly thingTypeName: string;
  readonly certificateId: string;
  readonly certificateStatus: 'ACTIVE';
  readonly policyName: string;
  readonly deviceConfiguration: Readonly<Record<string, string>>;
}

function resolve(value: TemplateValue, parameters: Readonly<Record<string, string>>): string {
  if (typeof value === 'string') return value;
  if ('Ref' in value) {
    const resolved = parameters[value.Ref];
    if (resolved === undefined) throw new TemplateParameterError(`parameter '${value.Ref}' has no value`);
    return resolved;
  }
  const [separator, parts] = value['Fn::Join'];
  return parts.map((part) => resolve(part, parameters)).join(separator);
}

/**
 * Resolves fleetkit's provisioning template with RegisterThing's parameters as IoT does: each `Ref` takes
 * the parameter's value (or the declared `Default`), `Fn::Join` joins; `AWS::IoT::Certificate::Id` is the
 * certificate the ownership token stands for
 * (https://docs.aws.amazon.com/iot/latest/developerguide/provision-template.html). Only the intrinsic
 * functions fleetkit's template uses are known.
 *
 * @throws TemplateParameterError when a referenced parameter has no value
 */
export function resolveTemplate(
  body: ProvisioningTemplateBody,
  parameters: Readonly<Record<string, string>>,
  certificateId: string,
): ResolvedTemplate {
  const values: Record<string, string> = {};
  for (const [name, declared] of Object.entries(body.Parameters)) {
    const value = parameters[name] ?? declared.Default;
    if (value !== undefined) values[name] = value;
  }
  values[CERTIFICATE_ID_PARAMETER] = certificateId;
  const { thing, certificate, policy } = body.Resources;
  return {
    thingName: resolve(thing.Properties.ThingName, values),
    thingTypeName: resolve(thing.Properties.ThingTypeName, values),
    certificateId: resolve(certificate.Properties.CertificateId, values),
    certificateStatus: certificate.Properties.Status,
    policyName: policy.Properties.PolicyName,
    deviceConfiguration: Object.fromEntries(
      Object.entries(body.DeviceConfiguration).map(([key, value]) => [key, resolve(value, values)]),
    ),
  };
}
