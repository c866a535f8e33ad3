/** A publish was attempted while the link is down; nothing was sent. */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';

  constructor(readonly topic: string) {
    super(`not connected: cannot publish to ${topic}`);
  }
}

/** The broker (or the Greengrass nucleus' authorization policy) refused a subscription. */
export class SubscriptionRefusedError extends Error {
  override readonly name = 'SubscriptionRefusedError';

  constructor(
    readonly filter: string,
    detail = 'not authorized',
  ) {
    super(`subscription to ${filter} refused: ${detail}`);
  }
}

/** A topic filter that MQTT does not allow (3.1.1 §4.7.1). */
export class TopicFilterError extends Error {
  override readonly name = 'TopicFilterError';

  constructor(
    readonly filter: string,
    reason: string,
  ) {
    super(`invalid topic filter '${filter}': ${reason}`);
  }
}

/** Greengrass mode was asked for, but `aws-iot-device-sdk-v2` could not be loaded. */
export class GreengrassSdkMissingError extends Error {
  override readonly name = 'GreengrassSdkMissingError';

  constructor(cause: unknown) {
    super(
      'Greengrass IPC needs the aws-iot-device-sdk-v2 package (with its native aws-crt), which could not be ' +
        `loaded (${cause instanceof Error ? cause.message : String(cause)}). The artifact built by ` +
        '`npm run build:edge` carries it in node_modules beside agent.mjs (glibc Linux x64/arm64 builds): ' +
        'deploy that artifact, or, to run without Greengrass, set FLEETKIT_TRANSPORT=mqtt.',
      { cause },
    );
  }
}
