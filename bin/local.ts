import { parseArgs } from 'node:util';
import { isLoopbackHost } from '../lib/local/endpoint-guard.ts';
import { startPlatform } from '../lib/local/platform.ts';
import type { Verbosity } from '../lib/local/platform-log.ts';
import { type KafkaConnection, parseKafkaConnection } from '../lib/protocol/kafka-connection.ts';
import type { Topology } from '../lib/topology/model.ts';
import { topology } from '../lib/topology.ts';

const HELP = `fleetkit local platform — everything on one machine, same handlers as in AWS

Usage: npm start -- [options]

  --port <n>          HTTP API gateway port (env FLEETKIT_PORT, default 3000)
  --mqtt-port <n>     MQTT over mutual TLS port (env FLEETKIT_MQTT_PORT, default 8883)
  --devices <n>       simulated devices to start, 0 for none (env FLEETKIT_DEVICES, default 3)
  --connect-rate <n>  simulated devices' new connections per second, paced (env FLEETKIT_CONNECT_RATE,
                      default 100); the platform is ready at once and the fleet comes up behind it
  --data-dir <path>   certificates, tables and objects (env FLEETKIT_DATA_DIR, default .fleetkit)
  --host <addr>       address the MQTT broker and the HTTP API listen on (env FLEETKIT_HOST, default
                      127.0.0.1); e.g. 0.0.0.0 for devices on the network, with a warning. The internal
                      endpoints (DynamoDB, S3, KMS, IoT data) always stay on 127.0.0.1
  env KAFKA_BROKERS    host:port,... of a Kafka to use instead of the embedded topic log, with
                      KAFKA_SSL=true, KAFKA_SSL_CA_FILE=<pem>, KAFKA_SASL_MECHANISM=scram-sha-512|
                      scram-sha-256|aws-msk-iam, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
  env FLEETKIT_MALLOC  the platform's malloc: auto (the default: jemalloc where installed, e.g.
                      apt-get install libjemalloc2), jemalloc (required) or system
  --set KEY=VALUE     override a function setting, e.g. --set SHADOW_MAX_STATE_BYTES=65536 (repeatable)
  --verbose           print every handler log line and metric
  --quiet             print only the banner
  -h, --help          this text
`;

function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    console.error(`--${name} must be a whole number between 0 and 65535, got '${value}'`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'mqtt-port': { type: 'string' },
    devices: { type: 'string' },
    'connect-rate': { type: 'string' },
    'data-dir': { type: 'string' },
    host: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    verbose: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function settingsFrom(pairs: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (match === null) {
      console.error(`--set expects KEY=VALUE with an upper-case KEY, got '${pair}'`);
      process.exit(2);
    }
    settings[match[1] as string] = match[2] as string;
  }
  return settings;
}

/** A real Kafka when KAFKA_BROKERS is set, with its SASL/SSL settings; a wrong one stops the start, named. */
function kafkaFromEnv(): KafkaConnection | undefined {
  if (!process.env.KAFKA_BROKERS) return undefined;
  try {
    return parseKafkaConnection(process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
const kafka = kafkaFromEnv();

const host = values.host ?? process.env.FLEETKIT_HOST ?? '127.0.0.1';
if (!isLoopbackHost(host)) {
  process.stderr.write(
    `warning: --host ${host}: the MQTT broker and the HTTP API accept connections from the network ` +
      '(mutual TLS and SigV4 still required); the internal endpoints stay on 127.0.0.1\n',
  );
}
const verbosity: Verbosity = values.verbose ? 'verbose' : values.quiet ? 'quiet' : 'normal';
const started = performance.now();
const platform = await startPlatform({
  gatewayPort: intOption('port', values.port ?? process.env.FLEETKIT_PORT, 3000),
  mqttPort: intOption('mqtt-port', values['mqtt-port'] ?? process.env.FLEETKIT_MQTT_PORT, 8883),
  devices: intOption('devices', values.devices ?? process.env.FLEETKIT_DEVICES, 3),
  simPacing: {
    connectsPerSecond: Math.max(
      1,
      intOption('connect-rate', values['connect-rate'] ?? process.env.FLEETKIT_CONNECT_RATE, 100),
    ),
  },
  dataDir: values['data-dir'] ?? process.env.FLEETKIT_DATA_DIR ?? '.fleetkit',
  host,
  verbosity,
  settings: settingsFrom(values.set ?? []),
  ...(kafka === undefined ? {} : { kafka }),
}).catch((error: Error & { code?: string }) => {
  if (error.code === 'EADDRINUSE') {
    console.error(
      `a port is already in use (${error.message}); stop the other process or pick ports with --port / --mqtt-port`,
    );
  } else {
    console.error(`could not start the local platform: ${error.message}`);
  }
  process.exit(1);
});

// Each provisioning template's claim certificate, as a factory would install it on its devices.
const functions: Topology['functions'] = topology.functions;
const claimTemplates = Object.values(functions).flatMap((fn) =>
  (fn.provisioningHooks ?? []).map((hook) => hook.template),
);
const claims = await Promise.all(claimTemplates.map((template) => platform.claimCredentials(template)));
const readyMs = Math.round(performance.now() - started);
// The secret stays in the file (0600): a banner ends up in terminal scrollback, CI logs and screenshots.
const { credentials } = platform;
// A one-time link (spent on first use, stale after 10 minutes), not the secret: see README, "The console".
const consoleLink = platform.console.loginLink(platform.consoleBase);
process.stdout.write(`
fleetkit local platform ready in ${readyMs} ms
  HTTP API (API Gateway)   ${platform.gatewayUrl}   SigV4 (execute-api) required; try: npm run cli -- devices list
  credentials              ${credentials.file}${credentials.created ? ' (new)' : ''}, access key id ${credentials.accessKeyId}
                           (the CLI signs with it; so can curl --aws-sigv4 or the AWS SDKs, see README)
  console                  ${consoleLink.url}
                           (one-time sign-in link, 10 minutes; another: npm run cli -- console)
  MQTT, mutual TLS 1.3     ${platform.mqttUrl}
  DynamoDB API             ${platform.dynamoEndpoint}
  S3 API                   ${platform.s3Endpoint}
  KMS, IoT data (SigV4)    ${platform.kmsEndpoint}, ${platform.iotDataEndpoint}
  streams (MSK)            ${platform.streams.description}
  device certificates      ${platform.dataDir}/pki (CA: ca.crt, devices/<type>.<thing>.crt)
${claims.map((c, i) => `  claim certificate        ${platform.dataDir}/pki/claims/${claimTemplates[i]}.crt, template ${c.templateName} (allow serials: npm run cli -- devices allow <serial> --type <t>)\n`).join('')}  simulated devices        ${platform.fleet.devices.length}${platform.fleet.devices.length === 0 ? '' : ' (coming up behind the platform, paced; a line follows when all are up)'}
  data                     ${platform.dataDir} (kept across restarts)
${process.env.FLEETKIT_MALLOC_NOTE === undefined ? '' : `  memory allocator         ${process.env.FLEETKIT_MALLOC_NOTE}\n`}Ctrl+C to stop.
`);

// Bundled now, off the start's path, so the first visit to the console does not wait for esbuild.
platform.console
  .prepare()
  .catch((error: Error) => console.error(`the console could not be built: ${error.message}`));

let stopping = false;
if (platform.fleet.devices.length > 0) {
  void platform.fleet.whenUp().then((ms) => {
    if (stopping) return;
    const { devices, connected, connectFailures } = platform.fleet.status();
    const retried = Object.values(connectFailures).reduce((sum, n) => sum + n, 0);
    process.stdout.write(
      `simulated fleet up: ${devices} devices in ${(ms / 1000).toFixed(1)} s (${connected} connected, ${retried} connection attempts retried)\n`,
    );
  });
}

const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping...\n`);
  const timer = setTimeout(() => {
    console.error('shutdown took over 10 s; exiting anyway');
    process.exit(1);
  }, 10_000);
  await platform.stop();
  clearTimeout(timer);
  process.stdout.write(`stopped; data kept in ${platform.dataDir}\n`);
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
