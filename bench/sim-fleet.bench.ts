import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseAllocator, launchEnv, NODE_FLAGS } from '../bin/node-settings.mjs';
import { ApiClient } from '../lib/cli/api.ts';
import { localSigner } from '../lib/cli/sigv4.ts';
import { median, metric, progress } from './support.ts';

/**
 * `npm start` with a thousand simulated devices, as a user starts it: a fresh data directory (so
 * every device is issued its certificate on this start), the platform in its own process, measured
 * from outside. Side by side, the same with no devices: the baseline of both time and memory.
 *
 * - local_ready_s_1000: `npm start` until the banner (the platform serves; the fleet is coming up
 *   behind it, paced) — the "ready". local_ready_vs_empty_ratio: over the 0-device start.
 * - sim_fleet_connected_s_1000: `npm start` until every device has connected and had its first
 *   shadow sync answered (the "simulated fleet up" line) — the stronger figure.
 * - sim_fleet_online_pct_1000: GET /fleet/health's online % after the soak (FLEETKIT_BENCH_SOAK_S
 *   from the start, default 300 s: the five minutes); sim_connack_timeouts_1000 and
 *   sim_connect_retries_1000: connection attempts that failed over the whole run (GET /local/fleet).
 * - sim_device_rss_kb: (resident memory of the platform's process with 1,000 devices after the soak
 *   − with 0 devices after settling) / 1,000, each process fresh.
 * - bare_device_rss_kb: the same for the baseline, bench/bare-mqtt-fleet.ts — per device its own
 *   certificate, one mutual-TLS MQTT connection to an aedes broker in the same process, the agent's
 *   subscriptions and a status and telemetry every 30 s, nothing else — soaked as long, in a process
 *   started with the same settings (bin/node-settings.mjs). sim_device_rss_vs_bare_ratio: the two.
 */
const DEVICES = Number(process.env.FLEETKIT_BENCH_DEVICES ?? 1000);
const SOAK_S = Number(process.env.FLEETKIT_BENCH_SOAK_S ?? 300);
/** How long the bare baseline runs before its memory is read (the platform's soak unless told). */
const BARE_SOAK_S = Number(process.env.FLEETKIT_BENCH_BARE_SOAK_S ?? SOAK_S);
/** How long the 0-device platform runs before its memory is read. */
const SETTLE_S = 30;
const root = fileURLToPath(new URL('..', import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly startedAt: number;
  readonly lines: string[];
  /** Resolves with ms since spawn when a stdout line matches. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<{ ms: number; match: RegExpMatchArray }>;
}

function npmStart(devices: number): Promise<Started> {
  return launch((dataDir) => [
    'npm',
    [
      'start',
      '--',
      '--devices',
      String(devices),
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dataDir,
      '--quiet',
    ],
    {},
  ]);
}

/** The baseline's process, started as bin/start.mjs starts the platform's. */
function bareFleet(devices: number): Promise<Started> {
  return launch((dataDir) => [
    process.execPath,
    [...NODE_FLAGS, 'bench/bare-mqtt-fleet.ts', '--devices', String(devices), '--data-dir', dataDir],
    launchEnv(),
  ]);
}

async function launch(
  command: (dataDir: string) => [string, string[], Record<string, string | undefined>],
): Promise<Started> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-bench-sim-'));
  const startedAt = performance.now();
  const [file, args, env] = command(dataDir);
  const child = spawn(file, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, ...process.env },
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.resume();
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<{ ms: number; match: RegExpMatchArray }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = () => {
        for (const line of lines) {
          const match = line.match(pattern);
          if (match !== null) {
            clearTimeout(timer);
            resolve({ ms: performance.now() - startedAt, match });
            return;
          }
        }
        if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`npm start exited with ${child.exitCode}: ${lines.join('\n')}`));
          return;
        }
        waiters.push(check);
      };
      check();
    });
  return { child, dataDir, startedAt, lines, waitFor };
}

/** The platform's own process: the deepest descendant of npm whose command line runs bin/local.ts. */
async function platformPid(npmPid: number): Promise<number> {
  const parents = new Map<number, number>();
  const commands = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      commands.set(pid, (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' '));
    } catch {
      // gone meanwhile
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p))
      if (p === npmPid) return true;
    return false;
  };
  const candidates = [...commands].filter(([pid, cmd]) => cmd.includes('bin/local.ts') && descends(pid));
  const leaves = candidates.filter(([pid]) => !candidates.some(([other]) => parents.get(other) === pid));
  const found = leaves[0]?.[0];
  if (found === undefined) throw new Error('the platform process was not found under npm start');
  return found;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
}

/** The median of five readings a second apart. */
async function steadyRssKb(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(await rssKb(pid));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return median(readings);
}

async function stop(started: Started): Promise<void> {
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  if (started.child.pid !== undefined) process.kill(-started.child.pid, 'SIGTERM');
  await exited;
  await rm(started.dataDir, { recursive: true, force: true });
}

const sleepUntil = (startedAt: number, seconds: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + seconds * 1000 - performance.now())));

progress(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on this machine`,
);
progress(`malloc of both processes: ${chooseAllocator().note}`);
progress('npm start with 0 devices (baseline)');
const empty = await npmStart(0);
const emptyReady = await empty.waitFor(/fleetkit local platform ready in/, 120_000);
const emptyPid = await platformPid(empty.child.pid ?? 0);
await sleepUntil(empty.startedAt, SETTLE_S);
const emptyRss = await steadyRssKb(emptyPid);
await stop(empty);

progress(`npm start with ${DEVICES} devices, fresh data directory; soak ${SOAK_S} s from the start`);
const full = await npmStart(DEVICES);
const ready = await full.waitFor(/fleetkit local platform ready in/, 120_000);
const pid = await platformPid(full.child.pid ?? 0);
const api = new ApiClient({
  baseUrl: (await full.waitFor(/HTTP API \(API Gateway\)\s+(http:\/\/\S+)/, 10_000)).match[1] ?? '',
  sign: localSigner(full.dataDir),
});
const up = await full.waitFor(/simulated fleet up: (\d+) devices/, 30 * 60_000);
progress(
  `ready after ${(ready.ms / 1000).toFixed(1)} s, all ${DEVICES} up after ${(up.ms / 1000).toFixed(1)} s`,
);
await sleepUntil(full.startedAt, Math.max(SOAK_S, up.ms / 1000 + SETTLE_S));
const health = await api.call('GET', 'fleet/health');
const fleet = await api.call('GET', 'local/fleet');
const fullRss = await steadyRssKb(pid);
await stop(full);
const failures = fleet.connectFailures as Record<string, number>;
progress(
  `after ${((performance.now() - full.startedAt) / 1000).toFixed(0)} s: ${health.online}/${health.devices} online, ${fleet.connected} connected, failures ${JSON.stringify(failures)}; RSS ${Math.round(fullRss / 1024)} MB vs ${Math.round(emptyRss / 1024)} MB empty`,
);

metric(`local_ready_s_${DEVICES}`, ready.ms / 1000);
metric('local_ready_s_0', emptyReady.ms / 1000);
metric('local_ready_vs_empty_ratio', ready.ms / emptyReady.ms);
metric(`sim_fleet_connected_s_${DEVICES}`, up.ms / 1000);
metric(`sim_fleet_online_pct_${DEVICES}`, (100 * health.online) / DEVICES);
metric(`sim_connack_timeouts_${DEVICES}`, failures['connack-timeout'] ?? 0);
metric(
  `sim_connect_retries_${DEVICES}`,
  Object.values(failures).reduce((sum, n) => sum + n, 0),
);
progress('the bare baseline with 0 devices');
const bareEmpty = await bareFleet(0);
await bareEmpty.waitFor(/bare fleet ready/, 60_000);
await sleepUntil(bareEmpty.startedAt, SETTLE_S);
const bareEmptyRss = await steadyRssKb(bareEmpty.child.pid ?? 0);
await stop(bareEmpty);
progress(`the bare baseline with ${DEVICES} devices; soak ${BARE_SOAK_S} s from the start`);
const bare = await bareFleet(DEVICES);
const bareUp = await bare.waitFor(/bare fleet up: (\d+) devices/, 30 * 60_000);
await sleepUntil(bare.startedAt, Math.max(BARE_SOAK_S, bareUp.ms / 1000 + SETTLE_S));
const bareRss = await steadyRssKb(bare.child.pid ?? 0);
await stop(bare);
progress(
  `bare: all up after ${(bareUp.ms / 1000).toFixed(1)} s; RSS ${Math.round(bareRss / 1024)} MB vs ${Math.round(bareEmptyRss / 1024)} MB empty`,
);

const simPerDevice = (fullRss - emptyRss) / DEVICES;
const barePerDevice = (bareRss - bareEmptyRss) / DEVICES;
metric('sim_device_rss_kb', simPerDevice);
metric('bare_device_rss_kb', barePerDevice);
metric('sim_device_rss_vs_bare_ratio', simPerDevice / barePerDevice);
metric('local_rss_mb_0', emptyRss / 1024);
