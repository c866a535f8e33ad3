import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { DEVICE_PERMISSIONS } from '../protocol/device-policy.ts';
import type { KafkaConnection } from '../protocol/kafka-connection.ts';
import type { Topology } from '../topology/model.ts';
import { validateSettings, validateTopology } from '../topology/validate.ts';
import { topology as defaultTopology } from '../topology.ts';
import { type DenialEvent, type LocalBroker, startBroker } from './broker.ts';
import { browsableUrl, type LocalConsole, setUpConsole } from './console/index.ts';
import { type OperatorCredentials, openOperatorCredentials, operatorProfiles } from './credentials.ts';
import { connectDynamo, ensureTable, type LocalDynamo, startDynamo } from './dynamo.ts';
import { endpointGuard, isLoopbackHost, isWildcardHost } from './endpoint-guard.ts';
import { type LocalFunction, loadFunctions } from './functions.ts';
import { type LocalGateway, startGateway } from './gateway.ts';
import { mayUseThings } from './iot/access.ts';
import { localClaimProvisioning } from './iot/claim-provisioning.ts';
import { startIotControlPlane } from './iot/control-plane.ts';
import { createFromCsrApi } from './iot/create-from-csr.ts';
import { OwnershipTokens } from './iot/ownership-tokens.ts';
import { platformDeviceCredentials } from './iot/platform-credentials.ts';
import { LocalIotRegistry } from './iot/registry.ts';
import { startIotData } from './iot-data.ts';
import { startLocalKms } from './kms.ts';
import { type LocalLambda, startLocalLambda } from './lambda-api.ts';
import { LocalMetrics } from './metrics-store.ts';
import { LOCAL_DEVICE_POLICY_NAME, LOCAL_REGION, localResourceName } from './names.ts';
import { type CertifiedKey, type DeviceCredentials, LocalPki } from './pki.ts';
import { createPlatformLog, type PlatformLog, type Verbosity } from './platform-log.ts';
import { type LocalPrincipals, localPrincipals } from './principals.ts';
import { type RulesRunner, startRulesRunner } from './rules-runner.ts';
import { type LocalS3, startS3 } from './s3.ts';
import { type LocalScheduler, startScheduler } from './scheduler.ts';
import { LOCAL_ACCOUNT_ID, openSigningKeys } from './signing-keys.ts';
import type { SimulatedOtaOptions } from './sim/device.ts';
import { FaultBook } from './sim/fault-book.ts';
import { type FleetPacing, type SimulatedFleet, startFleet } from './sim/fleet.ts';
import { registryLookup } from './sim/registry-lookup.ts';
import { type Simulator, simulatorRoutes } from './sim/routes.ts';
import { type LocalStreams, startLocalStreams } from './stream-runtime.ts';

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

/**
 * Starts fleetkit on one machine: the embedded DynamoDB and S3 APIs, the MQTT broker with mutual TLS,
 * the rules engine, the HTTP gateway, the scheduler and a simulated fleet — all built from the
 * topology, all running the same handler modules as Lambda.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const topology: Topology = options.topology ?? defaultTopology;
  validateTopology(topology);
  validateSettings(topology, options.settings ?? {});
  const dataDir = resolve(options.dataDir ?? '.fleetkit');
  const host = options.host ?? '127.0.0.1';
  // Only the broker and the API face the network; the rest are the platform's own plumbing.
  const internalHost = isLoopbackHost(host) && isIP(host) === 4 ? host : '127.0.0.1';
  await mkdir(dataDir, { recursive: true });
  const metrics = new LocalMetrics();
  const log = createPlatformLog(metrics, options.verbosity ?? 'normal', options.out);
  if (!isLoopbackHost(host)) {
    log.event('warn', 'the MQTT broker and the HTTP API listen beyond loopback', {
      host,
      internalEndpoints: internalHost,
      advice:
        'anyone who can reach them needs a device certificate or the operator credentials; firewall them',
    });
  }
  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };

  try {
    const credentials = await openOperatorCredentials(dataDir);
    const operators = await operatorProfiles(dataDir, options.operatorProfiles);
    const principals = localPrincipals(credentials, topology, operators);
    const guard = (service: string, listenHost: string) => endpointGuard({ service, principals, listenHost });
    const pki = await LocalPki.open(dataDir);
    // Provisioning templates with their hooks and claim policies, as the CDK app makes them.
    const claims = localClaimProvisioning(topology);
    const iot = await LocalIotRegistry.open({
      dataDir,
      pki,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      policies: {
        [LOCAL_DEVICE_POLICY_NAME]: DEVICE_PERMISSIONS,
        ...claims.policies,
      },
      ...(options.certificateValidityMs === undefined
        ? {}
        : { certificateValidityMs: options.certificateValidityMs }),
    });
    // Thing types are made from the topology, as the CDK app makes them at deploy.
    for (const [name, type] of Object.entries(topology.deviceTypes ?? {}))
      if (!iot.hasThingType(name)) await iot.createThingType(name, type.description);
    const deviceCredentials = (thingName: string, thingType: string) =>
      platformDeviceCredentials(iot, pki, thingName, thingType, LOCAL_DEVICE_POLICY_NAME);
    const dynamo: LocalDynamo =
      options.dynamoEndpoint === undefined
        ? await startDynamo({
            path: join(dataDir, 'dynamo'),
            host: internalHost,
            port: options.dynamoPort ?? 0,
          })
        : connectDynamo(options.dynamoEndpoint);
    stops.push(() => dynamo.close());
    const buckets: string[] = [];
    const signingKeys: string[] = [];
    for (const [name, resource] of Object.entries(topology.resources)) {
      if (resource.kind === 'table') await ensureTable(dynamo.client, localResourceName(name), resource);
      else if (resource.kind === 'signingKey') signingKeys.push(name);
      else if (resource.kind === 'bucket') buckets.push(localResourceName(name));
    }
    const keys = await openSigningKeys(dataDir, signingKeys);
    const kms = await startLocalKms({ keys, host: internalHost, guard: guard('kms', internalHost) });
    stops.push(() => kms.close());
    await mkdir(join(dataDir, 's3'), { recursive: true });
    const s3: LocalS3 = await startS3({
      directory: join(dataDir, 's3'),
      buckets,
      // Functions sign S3 requests with their own keys; the operator's serves tests and tools.
      accessKeys: principals.keys,
      host: internalHost,
      port: options.s3Port ?? 0,
    });
    stops.push(() => s3.close());

    const denials: DenialEvent[] = [];
    const tokens = new OwnershipTokens();
    const broker = await startBroker({
      pki,
      directory: iot,
      reservedApis: [createFromCsrApi(iot, tokens), claims.registerThing(iot, tokens)],
      host,
      port: options.mqttPort ?? 8883,
      onDenied: (event) => {
        denials.push(event);
        if (denials.length > 1000) denials.shift();
        metrics.ingest({
          _aws: {
            CloudWatchMetrics: [
              {
                Namespace: 'fleetkit',
                Dimensions: [['Action']],
                Metrics: [{ Name: 'AuthorizationFailures' }],
              },
            ],
          },
          Action: event.action,
          AuthorizationFailures: 1,
        });
        log.event('warn', 'broker refused a client request', { ...event });
      },
    });
    stops.push(() => broker.close());
    const iotData = await startIotData({
      broker,
      principals,
      host: internalHost,
      guard: guard('iotdata', internalHost),
    });
    stops.push(() => iotData.close());
    const lambda = await startLocalLambda({
      topology,
      guard: guard('lambda', internalHost),
      physicalName: localResourceName,
      log,
      host: internalHost,
    });
    stops.push(() => lambda.close());
    const mqttUrl = `mqtts://${isWildcardHost(host) ? '127.0.0.1' : host}:${broker.port}`;
    const iotControlPlane = await startIotControlPlane({
      registry: iot,
      endpointAddress: new URL(mqttUrl).hostname,
      host: internalHost,
      guard: guard('iot', internalHost),
      // A function may call the registry as its role may: the `things` resource it uses, read or write.
      may: (principal, access) => mayUseThings(topology, principal, access),
    });
    stops.push(() => iotControlPlane.close());
    const streams = await startLocalStreams({
      dataDir,
      topology,
      log,
      host: internalHost,
      ...(options.kafka === undefined ? {} : { kafka: options.kafka }),
    });
    stops.push(() => streams.stop());
    const functions = await loadFunctions(
      topology,
      {
        dynamodb: dynamo.endpoint,
        s3: s3.endpoint,
        iotData: iotData.endpoint,
        kms: kms.endpoint,
        lambda: lambda.endpoint,
        iot: { endpoint: iotControlPlane.endpoint, deviceEndpoint: mqttUrl, caPem: pki.caPem },
        streams: streams.functionEnv,
        credentials: (name) => principals.functionKey(name),
      },
      (name) => ({
        write: (line) => log.handlerLine(name, line),
        now: Date.now,
      }),
      options.settings,
    );
    claims.hooksLoaded(functions);

    lambda.attach(functions);

    const rules = startRulesRunner({
      broker,
      functions,
      log,
      dataDir,
      streams: streams.backend,
      ingest: Object.entries(topology.ingest ?? {}).map(([name, ingest]) => {
        const stream = topology.resources[ingest.stream];
        if (stream?.kind !== 'stream')
          throw new Error(`ingest '${name}' targets '${ingest.stream}', not a stream`);
        return { name, rule: ingest.rule, topic: stream.topic, key: ingest.key };
      }),
    });
    await streams.startConsumers(functions);
    const scheduler = startScheduler(functions, log);
    stops.push(() => scheduler.stop());

    const consoleSetup = setUpConsole({
      operator: credentials,
      principals,
      region: LOCAL_REGION,
      connectSources: [s3.endpoint],
      routes: () => gateway.routes,
    });
    let consoleBase = '';
    const simulator: Simulator = {};
    const gateway: LocalGateway = await startGateway({
      functions,
      log,
      host,
      guard: endpointGuard({
        service: 'execute-api',
        principals: consoleSetup.apiPrincipals,
        listenHost: host,
      }),
      unsigned: consoleSetup.site.handle,
      port: options.gatewayPort ?? 3000,
      localRoutes: {
        'POST /local/console-links': () => ({
          statusCode: 201,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify(consoleSetup.site.loginLink(consoleBase))),
        }),
        'GET /health': () => ({
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify({ status: 'ok' })),
        }),
        'GET /local/metrics': () => ({
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify({ metrics: metrics.snapshot() })),
        }),
        ...simulatorRoutes(simulator),
      },
    });
    stops.push(() => gateway.close());
    consoleBase = browsableUrl(gateway.url);
    // Runs after the fleet has stopped: in-flight rule invocations finish before the stores go away.
    stops.push(() => rules.idle());

    const fleet = await startFleet({
      count: options.devices ?? 0,
      credentials: deviceCredentials,
      brokerUrl: mqttUrl,
      ...(options.simPacing === undefined ? {} : { pacing: options.simPacing }),
      log: (event, fields) => log.event('warn', event, fields),
      dataDir,
      ...(options.statusEveryMs === undefined ? {} : { statusEveryMs: options.statusEveryMs }),
      ...(options.telemetryEveryMs === undefined ? {} : { telemetryEveryMs: options.telemetryEveryMs }),
      ...(options.ota === false
        ? {}
        : {
            ota: {
              dataDir,
              // Provisioned as a device would be: each key by the id signatures name it with (the key ARN),
              // trusted for its topology purpose only.
              keySet: {
                purpose: 'keyset',
                version: 0,
                issuedAt: 0,
                keys: [...keys.values()].map((key) => {
                  const resource = topology.resources[key.name as keyof typeof topology.resources];
                  if (resource?.kind !== 'signingKey') throw new Error(`${key.name} is not a signing key`);
                  return {
                    keyid: key.arn,
                    purposes: [resource.purpose],
                    publicKey: Buffer.from(key.publicKeyDer).toString('base64'),
                  };
                }),
              },
              ...options.ota,
            },
          }),
    });
    const faults = new FaultBook(fleet.devices, registryLookup(dynamo.client, localResourceName('registry')));
    Object.assign(simulator, { fleet, faults });
    stops.push(async () => {
      faults.close();
      await fleet.stop();
    });

    return {
      gatewayUrl: gateway.url,
      mqttUrl,
      mqttPort: broker.port,
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      kmsEndpoint: kms.endpoint,
      iotDataEndpoint: iotData.endpoint,
      lambda,
      credentials,
      principals,
      dataDir,
      pki,
      iot,
      iotEndpoint: iotControlPlane.endpoint,
      deviceCredentials,
      claimCredentials: (template) => claims.claimCredentials(iot, pki, template),
      metrics,
      broker,
      rules,
      scheduler,
      functions,
      fleet,
      faults,
      denials,
      streams,
      log,
      console: consoleSetup.site,
      consoleBase,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
