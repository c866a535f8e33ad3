import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { DEVICE_PERMISSIONS } from '../protocol/device-policy.ts';
import type { Topology } from '../topology/model.ts';
import { validateSettings, validateTopology } from '../topology/validate.ts';
import { topology as defaultTopology } from '../topology.ts';
import { type DenialEvent, startBroker } from './broker.ts';
import { browsableUrl, setUpConsole } from './console/index.ts';
import { openOperatorCredentials, operatorProfiles } from './credentials.ts';
import { connectDynamo, ensureTable, type LocalDynamo } from './dynamo.ts';
import { startDynamoThread } from './dynamo-thread.ts';
import { endpointGuard, isLoopbackHost, isWildcardHost } from './endpoint-guard.ts';
import { loadFunctions } from './functions.ts';
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
import { startLocalLambda } from './lambda-api.ts';
import { LocalMetrics } from './metrics-store.ts';
import { LOCAL_DEVICE_POLICY_NAME, LOCAL_REGION, localResourceName } from './names.ts';
import { LocalPki } from './pki.ts';
import { createPlatformLog } from './platform-log.ts';
import type { Platform, PlatformOptions } from './platform-types.ts';
import { localPrincipals } from './principals.ts';
import { startRulesRunner } from './rules-runner.ts';
import { type LocalS3, startS3 } from './s3.ts';
import { startScheduler } from './scheduler.ts';
import { LOCAL_ACCOUNT_ID, openSigningKeys } from './signing-keys.ts';
import { FaultBook } from './sim/fault-book.ts';
import { startFleet } from './sim/fleet.ts';
import { registryLookup } from './sim/registry-lookup.ts';
import { type Simulator, simulatorRoutes } from './sim/routes.ts';
import { startLocalStreams } from './stream-runtime.ts';

export type { Platform, PlatformOptions } from './platform-types.ts';

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
        ? await startDynamoThread({
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
