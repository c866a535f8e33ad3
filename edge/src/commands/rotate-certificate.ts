import type { CertificateRotator } from '../identity/rotation.ts';
import type { CommandHandler } from './edge-commands.ts';

/** The part of the agent's certificate rotator the `rotate-certificate` command drives. */
export type CommandRotator = Pick<CertificateRotator, 'rotateOrJoin'>;

/**
 * `rotate-certificate`: the operator's tracked, paced way to rotate a device's certificate (issue 10,
 * item 3: "told by a job `rotate-certificate` that an operator starts for a selection of devices").
 *
 * It runs the agent's own {@link CertificateRotator}, the same path as the schedule and the platform's
 * `identity/notify`, and its outcome is the rotation's: SUCCEEDED only once the new certificate is
 * confirmed (so the platform has retired the old one), FAILED with the rotator's reason otherwise. The
 * catalog declares it long-running, so the device answers IN_PROGRESS first; the outcome is queued on
 * disk after the switch and goes out on the new certificate's connection.
 *
 * A rotation already under way (the schedule's, or one the platform asked for) is joined rather than
 * refused as busy: its outcome is this command's, with `joined: true` in the result. The operator asked
 * for the device to be on a new certificate, and that rotation puts it there.
 *
 * Without a rotator (a Greengrass core device, whose certificate is the nucleus's; a transport without a
 * certificate of its own) the command fails and says why.
 */
export function rotateCertificateHandler(rotator: CommandRotator | undefined): CommandHandler {
  return async () => {
    if (rotator === undefined)
      return { status: 'FAILED', reason: 'this agent has no certificate of its own to rotate' };
    const rotation = await rotator.rotateOrJoin('command');
    if (rotation.outcome === 'failed')
      return { status: 'FAILED', reason: rotation.reason, result: { joined: rotation.joined } };
    return {
      status: 'SUCCEEDED',
      result: {
        certificateId: rotation.certificateId,
        previousCertificateId: rotation.previousCertificateId,
        joined: rotation.joined,
      },
    };
  };
}
