/**
 * The CloudWatch metrics fleetkit's functions emit (Embedded Metric Format, namespace `fleetkit`,
 * dimension `Service` = the handler name) that alarms and the dashboard are built on. One list, so the
 * CDK app and the handlers cannot disagree on a name.
 */
/** CloudWatch namespace of every fleetkit metric. */
export const METRIC_NAMESPACE = 'fleetkit';

export const METRICS = {
  /** stream-processor: telemetry records processed (Count). */
  telemetryRecords: 'TelemetryRecords',
  /** stream-processor: redelivered records already applied, skipped (Count). */
  skippedRecords: 'SkippedRecords',
  /** stream-processor: readings a device sent again (same seq, new record), dropped (Count). */
  duplicateReadings: 'DuplicateReadings',
  /** stream-processor: devices whose records showed that the topic's log started over (Count). */
  restartedLogs: 'RestartedLogs',
  /** stream-processor: records sent to the dead-letter stream (Count). */
  rejectedRecords: 'RejectedRecords',
  /** stream-processor, fleet-sweeper: alerts raised, with dimension `AlertType` as well (Count). */
  alertsRaised: 'AlertsRaised',
  /** stream-processor: now minus the oldest record's append time in a batch (Milliseconds). */
  processorLag: 'ProcessorLagMs',
  /** fleet-sweeper: share of the fleet online (Percent). */
  fleetOnlinePercent: 'FleetOnlinePercent',
  /** fleet-sweeper: devices in the registry (Count). */
  fleetDevices: 'FleetDevices',
  /** ingest-status and others: messages refused at the boundary, with dimension `MessageType` (Count). */
  rejectedMessages: 'RejectedMessages',
  /** rollout-scheduler: failed share (FAILED + TIMED_OUT + REJECTED) of the ended executions of a rollout (Percent). */
  rolloutFailurePercent: 'RolloutFailurePercent',
  /** rollout-scheduler: executions queued this tick, with dimension `RolloutId` as well (Count). */
  rolloutQueued: 'RolloutQueued',
  /** rollout-scheduler: a rollout's succeeded / failed / pending executions, by `RolloutId` (Count). */
  rolloutSucceeded: 'RolloutSucceeded',
  rolloutFailed: 'RolloutFailed',
  rolloutPending: 'RolloutPending',
  /** rollout-scheduler: candidates held back by radio- or battery-aware pacing, by `RolloutId` (Count). */
  rolloutWaitingOnPacing: 'RolloutWaitingOnPacing',
  /** commands-mqtt, commands-scheduler: executions that ended, with dimension `Status` as well (Count). */
  commandsEnded: 'CommandsEnded',
  /** commands-mqtt, commands-scheduler: executions that ended FAILED, REJECTED or TIMED_OUT (Count). */
  commandsFailed: 'CommandsFailed',
  /** fleet-audit: ACTIVE certificates of the fleet expiring within `AUDIT_EXPIRY_DAYS` (Count). */
  certificatesExpiringSoon: 'CertificatesExpiringSoon',
} as const;

/** The `Service` dimension value of each emitting handler. */
export const METRIC_SERVICES = {
  streamProcessor: 'stream-processor',
  fleetSweeper: 'fleet-sweeper',
  ingestStatus: 'ingest-status',
  rolloutScheduler: 'rollout-scheduler',
  commandsMqtt: 'commands-mqtt',
  commandsScheduler: 'commands-scheduler',
  fleetAudit: 'fleet-audit',
} as const;
