import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { JEMALLOC_PATHS } from '../../bin/node-settings.mjs';

/**
 * The Debian tools some tests drive as real protocol peers. `npm test` on a machine with only Node
 * and npm skips the tests that need a missing tool (the global setup prints one line per tool saying
 * which test files it skipped and which package to install); in CI (`.ci/run` installs them all) a
 * missing tool fails the run, so a suite can never silently stop running there.
 */
export const OPTIONAL_TOOLS = {
  kcat: { probe: ['kcat', '-V'], debianPackage: 'kcat', what: "librdkafka's mock Kafka cluster" },
  socat: { probe: ['socat', '-V'], debianPackage: 'socat', what: 'pty pairs, a real serial port' },
  mosquitto: {
    probe: ['mosquitto_sub', '--help'],
    debianPackage: 'mosquitto-clients',
    what: 'a real MQTT client',
  },
  chromium: { probe: ['chromium', '--version'], debianPackage: 'chromium', what: 'a real browser' },
  xdelta3: { probe: ['xdelta3', '-V'], debianPackage: 'xdelta3', what: 'VCDIFF deltas of firmware images' },
  // A library, not a command: found by its file (npm start preloads it when it is there).
  jemalloc: {
    probe: ['libjemalloc.so.2'],
    debianPackage: 'libjemalloc2',
    what: 'the malloc npm start preloads',
    present: () => JEMALLOC_PATHS.some((path) => existsSync(path)),
  },
} as const;

export type OptionalTool = keyof typeof OPTIONAL_TOOLS;

/**
 * Whether missing tools fail the run rather than skip: `FLEETKIT_REQUIRE_TOOLS=1`, or a CI run
 * (`CI` set) unless `FLEETKIT_REQUIRE_TOOLS=0` says otherwise.
 */
export function toolsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const setting = env.FLEETKIT_REQUIRE_TOOLS;
  if (setting === '1' || setting === 'true') return true;
  if (setting === '0' || setting === 'false') return false;
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}

const found = new Map<OptionalTool, boolean>();

/** Whether the tool is here: its command runs, or a library's file exists (checked once per process). */
export function hasTool(tool: OptionalTool): boolean {
  let present = found.get(tool);
  if (present === undefined) {
    const spec: { probe: readonly string[]; present?: () => boolean } = OPTIONAL_TOOLS[tool];
    const [command = '', ...args] = spec.probe;
    // A probe that runs at all (whatever its exit code) means the command is installed.
    present =
      spec.present?.() ?? spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 }).error === undefined;
    found.set(tool, present);
  }
  return present;
}

/** One line: what is missing, the test files that need it (skipped, or failing where tools are required), what to install. */
export function missingToolLine(tool: OptionalTool, files: readonly string[], required = false): string {
  const { probe, debianPackage, what } = OPTIONAL_TOOLS[tool];
  const named = files.length === 0 ? '' : `${required ? 'needed by' : 'skipped'} ${files.join(', ')} — `;
  return `${probe[0]} not found (${what}): ${named}install it with: apt-get install ${debianPackage}`;
}

/**
 * For a test file that needs `tool`: `true` when its tests must be skipped here. Where tools are
 * required (CI), a missing tool throws instead, so the file fails to load and the run fails.
 *
 * Use as `describe.skipIf(skipWithout('kcat'))(...)`: the global setup finds these calls to name the
 * skipped files, so call it with the tool's name as a string literal.
 */
export function skipWithout(tool: OptionalTool): boolean {
  if (hasTool(tool)) return false;
  if (toolsRequired())
    throw new Error(
      `${missingToolLine(tool, [])}; tools are required here (CI, or FLEETKIT_REQUIRE_TOOLS=1)`,
    );
  return true;
}
