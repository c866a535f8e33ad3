import type { AllowListEntry } from '../../../lib/protocol/fleet-provisioning.ts';

/**
 * Provisioning by claim, decided: which serial numbers the pre-provisioning hook admits, and what the
 * operator's allow request changes. Pure; the claim service reads and writes the allow-list.
 *
 * A serial admits one device: the claim certificate is shared by a whole production run, so whoever
 * copies it could otherwise register every serial on the list again and take the devices' thing names.
 * The same certificate asking again (RegisterThing retried after a lost answer) is the same device and is
 * admitted again; anything else needs the operator to allow the serial again.
 */

/** The hook's verdict. */
export type ClaimDecision =
  | {
      readonly allow: true;
      /** The entry, marked claimed by the certificate (write it conditionally: see the service). */
      readonly entry: AllowListEntry;
      /** RegisterThing parameters the hook sets, whatever the device sent. */
      readonly overrides: Readonly<Record<string, string>>;
    }
  | { readonly allow: false; readonly reason: string };

/**
 * Decides a RegisterThing request.
 *
 * @param serialNumber the device's `SerialNumber` parameter, already checked as a serial (undefined when
 *   missing or malformed)
 * @param entry the allow-list entry of that serial
 * @param certificateId the certificate the device asks a thing for
 * @param typeParameter the parameter the template reads the thing type from
 * @param boundSerial the serial the certificate registered before, if any (its ownership token was used)
 */
export function decideClaim(input: {
  readonly serialNumber: string | undefined;
  readonly entry: AllowListEntry | undefined;
  readonly certificateId: string;
  readonly typeParameter: string;
  readonly boundSerial?: string | undefined;
  readonly now: number;
}): ClaimDecision {
  const { serialNumber, entry, certificateId, now, boundSerial } = input;
  if (serialNumber === undefined) {
    return { allow: false, reason: 'the SerialNumber parameter is missing or not a valid serial number' };
  }
  // A used ownership token offered for another serial: the certificate would become two devices.
  if (boundSerial !== undefined && boundSerial !== serialNumber) {
    return {
      allow: false,
      reason: `certificate ${certificateId} registered serial number '${boundSerial}' already; one certificate is one device`,
    };
  }
  if (entry === undefined) {
    return { allow: false, reason: `serial number '${serialNumber}' is not on the allow-list` };
  }
  const overrides = { [input.typeParameter]: entry.deviceType };
  if (entry.status === 'claimed') {
    // The same certificate again: a retried RegisterThing of the device already admitted.
    if (entry.claimedBy === certificateId) return { allow: true, entry, overrides };
    return {
      allow: false,
      reason: `serial number '${serialNumber}' provisioned a device already; allow it again to provision it anew`,
    };
  }
  return {
    allow: true,
    entry: { ...entry, status: 'claimed', claimedBy: certificateId, claimedAt: now },
    overrides,
  };
}

/** What an allow request does to one serial. */
export type AllowOutcome =
  | { readonly kind: 'write'; readonly entry: AllowListEntry }
  | { readonly kind: 'alreadyClaimed' };

/**
 * Decides what allowing `serialNumber` as `deviceType` changes. An entry not yet used is replaced (its
 * type may be corrected); a used one only with `again`.
 */
export function planAllow(input: {
  readonly serialNumber: string;
  readonly deviceType: string;
  readonly current: AllowListEntry | undefined;
  readonly again: boolean;
  readonly now: number;
}): AllowOutcome {
  if (input.current?.status === 'claimed' && !input.again) return { kind: 'alreadyClaimed' };
  return {
    kind: 'write',
    entry: {
      serialNumber: input.serialNumber,
      deviceType: input.deviceType,
      status: 'allowed',
      allowedAt: input.now,
    },
  };
}
