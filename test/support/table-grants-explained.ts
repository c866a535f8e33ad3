/**
 * For `table-grants.test.ts`: the extras (Scan, DeleteItem, BatchWriteItem) a function's topology `uses`
 * names that no scenario there reaches, each with the code that needs it and the test that runs that code.
 */
export const PROVEN_BY_READING: Readonly<Record<string, string>> = {
  'streamProcessor:telemetryAggregates:batchWrite':
    'StreamProcessor writes closed windows with DynamoAggregateStore.put (batchPut); telemetry-e2e covers it',
  'streamProcessor:alerts:batchWrite': 'StreamProcessor records alerts with DynamoAlertStore.put (batchPut)',
  'streamProcessor:telemetryRules:scan': 'cachedRules(DynamoRuleStore).list is a Scan',
  'rolloutScheduler:telemetryRules:scan':
    'RolloutHealth reads the rules (cachedRules → DynamoRuleStore.list, a Scan) to measure a health gate',
  'fleetAudit:registry:scan':
    'FleetAudit pages the registry with DynamoDeviceRegistry.list (a Scan); fleet-audit-store',
  'fleetAudit:auditFindings:delete': 'FleetAudit removes a finding a pass no longer finds; fleet-audit-store',
  'fleetSweeper:telemetryAggregates:batchWrite':
    'FleetSweeper closes idle windows with DynamoAggregateStore.put (batchPut) when a device state holds one',
};
