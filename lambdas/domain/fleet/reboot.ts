import { alertId, type TelemetryAlert } from '../telemetry/alerts.ts';

/** The alert type of a reboot: a device's uptime went backwards between two status messages. */
export const REBOOT_ALERT = 'DEVICE_REBOOTED';
/** The pseudo-rule reboots are recorded under. */
export const REBOOT_RULE_ID = 'reboot';

/** What reboot detection needs of a registry record. */
interface Uptime {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly lastSeen: number;
  readonly uptimeSeconds?: number;
}

/**
 * The alert edges of a reboot seen between two status messages: the device's uptime is lower than in
 * the message before (and that one was older). A reboot is an event, not a condition, so it is raised
 * and cleared at once: it counts in the alert history and in a rollout's `rebootRate`, and leaves no
 * alert open.
 *
 * @returns the raised and cleared edges, or none when there was no earlier uptime or it did not drop
 */
export function rebootAlerts(
  before: (Omit<Uptime, 'lastSeen'> & { readonly lastSeen?: number }) | undefined,
  after: Uptime,
): TelemetryAlert[] {
  const was = before?.uptimeSeconds;
  const now = after.uptimeSeconds;
  if (was === undefined || now === undefined || now >= was || before === undefined) return [];
  // A record provisioned but never heard from has no lastSeen (and no uptime): nothing to compare.
  if (before.lastSeen === undefined || after.lastSeen <= before.lastSeen) return [];
  const edge = {
    id: alertId(after.deviceId, REBOOT_RULE_ID, after.lastSeen),
    deviceId: after.deviceId,
    deviceType: after.deviceType,
    type: REBOOT_ALERT,
    severity: 'info' as const,
    ruleId: REBOOT_RULE_ID,
    metric: 'uptimeSeconds',
    value: now,
    threshold: was,
    at: after.lastSeen,
    raisedAt: after.lastSeen,
  };
  return [
    { ...edge, state: 'raised' },
    { ...edge, state: 'cleared' },
  ];
}
