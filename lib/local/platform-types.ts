import type { KafkaConnection } from '../protocol/kafka-connection.ts';
import type { Topology } from '../topology/model.ts';
import type { DenialEvent, LocalBroker } from './broker.ts';
import type { LocalConsole } from './console/index.ts';
import type { OperatorCredentials } from './credentials.ts';
import type { LocalFunction } from './functions.ts';
import type { LocalIotRegistry } from './iot/registry.ts';
import type { LocalLambda } from './lambda-api.ts';
import type { LocalMetrics } from './metrics-store.ts';
import type { CertifiedKey, DeviceCredentials, LocalPki } from './pki.ts';
import type { PlatformLog, Verbosity } from './platform-log.ts';
import type { LocalPrincipals } from './principals.ts';
import type { RulesRunner } from './rules-runner.ts';
import type { LocalScheduler } from './scheduler.ts';
import type { SimulatedOtaOptions } from './sim/device.ts';
import type { FaultBook } from './sim/fault-book.ts';
import type { FleetPacing, SimulatedFleet } from './sim/fleet.ts';
import type { LocalStreams } from './stream-runtime.ts';

/**
 * The local platform's options and what a running one exposes (`startPlatform` in `platform.ts`):
 * kept apart so the start-up sequence reads on its own.
 */
export interface PlatformOptions {
  /** Where certificates, tables and objects are kept. @default '.fleetkit' */
  readonly dataDir?: string;
  /**
   * Where the MQTT broker and the HTTP API listen; anything but loopback is warned about. The internal
   * endpoints (DynamoDB, S3, KMS, IoT data, topic log) always listen on 127.0.0.1. @default '127.0.0.1'
   */
  readonly host?: string;
  /** HTTP gateway port; 0 picks a free one. @default 3000 */
  readonly gatewayPort?: number;
  /** MQTT over TLS port; 0 picks a free one. @default 8883 */
  readonly mqttPort?: number;
  /** DynamoDB API port; 0 picks a free one. @default 0 */
  readonly dynamoPort?: number;
  /**
   * A DynamoDB API already running (dynalite on a thread of its own, for benchmarks that bulk-load it)
   * to use instead of starting one; its tables are created as usual. @default - dynalite in-process
   */
  readonly dynamoEndpoint?: string;
  /** S3 API port; 0 picks a free one. @default 0 */
  readonly s3Port?: number;
  /** How many simulated devices to start. @default 0 */
  readonly devices?: number;
  /**
   * More operator profiles to make in `<dataDir>/credentials` if missing (every profile there is an
   * operator, each a principal of its own: a release approver must not be the uploader).
   */
  readonly operatorProfiles?: readonly string[];
  readonly statusEveryMs?: number;
  readonly telemetryEveryMs?: number;
  /** @default 'normal' */
  readonly verbosity?: Verbosity;
  readonly out?: (line: string) => void;
  /** @default the topology of `lib/topology.ts` */
  readonly topology?: Topology;
  /** A Kafka to use instead of the embedded topic log (`KAFKA_BROKERS` and its SASL/SSL settings). */
  readonly kafka?: KafkaConnection;
  /** Overrides of function settings (`SHADOW_MAX_STATE_BYTES`, ...). */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * The simulated devices' OTA agents (they trust the platform's signing keys); `false` for devices that
   * never update. @default {} (agents on, a 5 s health check after an update)
   */
  readonly ota?: false | Pick<SimulatedOtaOptions, 'healthCheckMs' | 'rebootDelayMs' | 'log'>;
  /** How the simulated fleet comes up (connection rate, bring-up window). */
  readonly simPacing?: FleetPacing;
  /** How long certificates made from CSRs are valid (provisioning, rotation). @default 365 days */
  readonly certificateValidityMs?: number;
}

/** The running local platform. */
export interface Platform {
  readonly gatewayUrl: string;
  readonly mqttUrl: string;
  readonly mqttPort: number;
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  /** The loopback KMS that signs with the topology's signing keys (`<dataDir>/keys/<name>.pem`). */
  readonly kmsEndpoint: string;
  /** The loopback IoT data plane (Publish), SigV4 service `iotdata`. */
  readonly iotDataEndpoint: string;
  /** Lambda's Invoke API, for functions that start others asynchronously (`invokedBy`). */
  readonly lambda: LocalLambda;
  /** The operator's key pair for the HTTP API, KMS and IoT data endpoints, kept in `<dataDir>/credentials`. */
  readonly credentials: OperatorCredentials;
  /** Every key pair the local endpoints accept (the operator's, one per function) and what each may do. */
  readonly principals: LocalPrincipals;
  readonly dataDir: string;
  readonly pki: LocalPki;
  /** The local AWS IoT registry: things, certificates, attachments. */
  readonly iot: LocalIotRegistry;
  /** The loopback AWS IoT control plane API serving {@link iot} (`AWS_ENDPOINT_URL_IOT`). */
  readonly iotEndpoint: string;
  /**
   * Platform-made credentials of a device, registered and attached (the simulated fleet's and tests'
   * factory path); devices that make their own keys use `POST /devices` instead.
   */
  deviceCredentials(thingName: string, thingType: string): Promise<DeviceCredentials>;
  /**
   * The claim certificate of a provisioning template (the topology's `provisioningHooks`), registered
   * with its claim policy: what devices provisioning by claim leave the factory with.
   */
  claimCredentials(template: string): Promise<CertifiedKey & { caPem: string; templateName: string }>;
  readonly metrics: LocalMetrics;
  readonly broker: LocalBroker;
  readonly rules: RulesRunner;
  readonly scheduler: LocalScheduler;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly fleet: SimulatedFleet;
  /** Faults injected into the simulated fleet (`POST /local/faults`). */
  readonly faults: FaultBook;
  readonly denials: readonly DenialEvent[];
  readonly streams: LocalStreams;
  readonly log: PlatformLog;
  /** The operator console at `<gatewayUrl>/console`; `console.loginLink(consoleBase)` signs a browser in. */
  readonly console: LocalConsole;
  /** The gateway's URL as a browser opens it (loopback when it listens on every address). */
  readonly consoleBase: string;
  /** Stops everything, in reverse order of start; data stays in `dataDir`. */
  stop(): Promise<void>;
}
