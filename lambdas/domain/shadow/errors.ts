/**
 * A shadow request refused with one of AWS IoT Device Shadow's codes and messages
 * (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html).
 * Published on `.../rejected` over MQTT, returned with the same code over HTTP.
 */
export class ShadowRequestError extends Error {
  override readonly name = 'ShadowRequestError';

  constructor(
    readonly code: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500,
    message: string,
  ) {
    super(message);
  }
}

/** The messages AWS uses, verbatim, so device code matching on them keeps working. */
export const SHADOW_MESSAGES = {
  invalidJson: 'Invalid JSON',
  missingState: 'Missing required node: state',
  stateNotObject: 'State node must be an object',
  desiredNotObject: 'Desired node must be an object',
  reportedNotObject: 'Reported node must be an object',
  invalidVersion: 'Invalid version',
  invalidClientToken: 'Invalid clientToken',
  tooDeep: (max: number) => `JSON contains too many levels of nesting; maximum is ${max}`,
  invalidNode: (node: string) => `State contains an invalid node: '${node}'`,
  thingNotFound: 'Thing not found',
  noShadow: (name: string) => `No shadow exists with name: '${name}'`,
  versionConflict: 'Version conflict',
  tooLarge: 'The payload exceeds the maximum size allowed',
  unsupportedEncoding: 'Unsupported documented encoding; supported encoding is UTF-8',
  internal: 'Internal service failure',
} as const;
