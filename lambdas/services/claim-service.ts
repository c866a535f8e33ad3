import {
  type AllowSerialsRequest,
  type AllowSerialsResponse,
  CLAIM_PARAMETERS,
  type PreProvisioningHookEvent,
  type PreProvisioningHookResponse,
  serialNumber,
} from '../../lib/protocol/fleet-provisioning.ts';
import { decideClaim, planAllow } from '../domain/identity/claims.ts';
import type { ClaimAllowList } from '../domain/identity/ports.ts';

export interface ClaimServiceProps {
  readonly allowList: ClaimAllowList;
  readonly now: () => number;
}

/** The hook's verdict, with the reason for the log (IoT tells the device nothing more than "denied"). */
export interface ClaimVerdict {
  readonly response: PreProvisioningHookResponse;
  readonly serialNumber?: string;
  readonly reason?: string;
}

/**
 * Provisioning by claim: the pre-provisioning hook's verdict on a RegisterThing request, and the
 * operator's allow-list. Decisions are `domain/identity/claims.ts`; this reads and writes the list with
 * conditional writes and reads again when one loses a race.
 */
export class ClaimService {
  constructor(private readonly props: ClaimServiceProps) {}

  /**
   * Admits a device whose serial number is allowed and unused (or used by this very certificate),
   * marking it used; sets the thing type from the allow-list.
   */
  async admit(event: PreProvisioningHookEvent): Promise<ClaimVerdict> {
    const { allowList, now } = this.props;
    const parsed = serialNumber.safeParse(event.parameters[CLAIM_PARAMETERS.serialNumber]);
    const serial = parsed.success ? parsed.data : undefined;
    // Two attempts: a lost race re-reads once, and then the winner's claim decides.
    for (let attempt = 0; attempt < 2; attempt++) {
      const decision = decideClaim({
        serialNumber: serial,
        entry: serial === undefined ? undefined : await allowList.get(serial),
        certificateId: event.certificateId,
        typeParameter: CLAIM_PARAMETERS.deviceType,
        boundSerial: await allowList.certificateSerial(event.certificateId),
        now: now(),
      });
      if (!decision.allow) {
        return {
          response: { allowProvisioning: false },
          reason: decision.reason,
          ...(serial === undefined ? {} : { serialNumber: serial }),
        };
      }
      // The certificate first, then the serial: a lost race on either reads again.
      if (!(await allowList.bindCertificate(event.certificateId, decision.entry.serialNumber))) continue;
      if (await allowList.claim(decision.entry)) {
        return {
          response: { allowProvisioning: true, parameterOverrides: { ...decision.overrides } },
          serialNumber: decision.entry.serialNumber,
        };
      }
    }
    return {
      response: { allowProvisioning: false },
      reason: `serial number '${serial}' (or this certificate) was claimed by another request at the same time`,
      ...(serial === undefined ? {} : { serialNumber: serial }),
    };
  }

  /** Puts serial numbers on the allow-list as `deviceType`; used ones only with `again`. */
  async allow(request: AllowSerialsRequest): Promise<AllowSerialsResponse> {
    const { allowList, now } = this.props;
    const allowed: string[] = [];
    const alreadyClaimed: string[] = [];
    for (const serial of new Set(request.serialNumbers)) {
      let written = false;
      let claimed = false;
      for (let attempt = 0; attempt < 2 && !written && !claimed; attempt++) {
        const current = await allowList.get(serial);
        const outcome = planAllow({
          serialNumber: serial,
          deviceType: request.deviceType,
          current,
          again: request.again === true,
          now: now(),
        });
        if (outcome.kind === 'alreadyClaimed') claimed = true;
        else written = await allowList.allow(outcome.entry, current);
      }
      if (written) allowed.push(serial);
      else alreadyClaimed.push(serial);
    }
    return { deviceType: request.deviceType, allowed, alreadyClaimed };
  }
}
