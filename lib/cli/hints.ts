import type { ApiError } from './api.ts';

/**
 * What to do next after the API refused a command, by its error code: the message says what is wrong,
 * this says how to go on. Undefined when the message says it all.
 */
export function nextStep(error: ApiError, command: readonly string[]): string | undefined {
  const [group, action, id] = command;
  switch (error.code) {
    case 'Unreachable':
      return 'start the local platform (npm start) or name the API with --api / FLEETKIT_API';
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
      return "the credentials are not this platform's: point --data-dir (FLEETKIT_DATA_DIR) at the data directory npm start uses, or use --aws for a deployed API";
    case 'RequestExpired':
      return "this machine's clock is more than 5 minutes off the API's: fix the clock and try again";
    case 'MissingAuthenticationToken':
    case 'AccessDenied':
    case 'ForbiddenHost':
      return 'the API wants a SigV4 signature by an operator: drop FLEETKIT_AWS_REGION for the local platform, or add --aws with AWS credentials for a deployed one';
    case 'NotFound':
      if (group === 'devices' || group === 'shadow') return 'list the devices with: devices list';
      if (group === 'rollout') return 'list the rollouts with: rollout list';
      if (group === 'firmware') return 'list the images with: firmware list';
      if (group === 'console')
        return 'the console links come from the local platform (npm start), not a deployed API';
      return undefined;
    case 'UnknownFirmware':
      return 'upload the image first: firmware upload <file> --version <v> --device-types <types>';
    case 'FirmwareNotAvailable':
      return 'finish its upload (firmware upload) or pick an available image: firmware list';
    case 'RolloutExists':
      return 'choose another rolloutId, or follow that one: rollout status <id> --watch';
    case 'NoEligibleDevices':
      return 'see why devices were skipped with: rollout preview <request.json>';
    case 'PreviewTooLarge':
      return 'create it instead (rollout create <request.json>): its planning reads the registry asynchronously and shows what it selects';
    case 'NoControlCohort':
      return 'target more devices, raise healthGate.controlPercentage, or drop the health gate';
    case 'InvalidRolloutTransition':
      return id === undefined ? undefined : `see where it stands: rollout status ${id}`;
    case 'ValidationError':
    case 'BadRequest':
      return group === 'rollout' && (action === 'create' || action === 'preview')
        ? 'fix the fields above in the request file; the README lists every field of POST /rollouts'
        : 'fix the fields above and run it again';
    default:
      return error.status >= 500
        ? 'the platform failed: its log (the npm start terminal) says why'
        : undefined;
  }
}
