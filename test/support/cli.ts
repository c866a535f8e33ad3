import { type CliIo, runCli } from '../../lib/cli/main.ts';
import type { Platform } from '../../lib/local/platform.ts';

/** What one CLI run printed and how it exited. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs one CLI command as `npm run cli` would, with stdout and stderr captured (stdout not a terminal). */
export async function runCapturedCli(
  argv: readonly string[],
  io: Omit<CliIo, 'out' | 'err'>,
): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    ...io,
    out: {
      write: (text) => {
        out += text;
      },
      isTTY: false,
    },
    err: {
      write: (text) => {
        err += text;
      },
    },
  });
  return { code, out, err };
}

/**
 * Runs the operator CLI against a local platform, as `npm run cli` does, capturing stdout and stderr.
 * The CLI signs with the credentials in the platform's data directory, as it does by default.
 */
export function runCliOn(platform: Platform, argv: readonly string[]): Promise<CliRun> {
  return runCapturedCli(argv, {
    env: { FLEETKIT_API: platform.gatewayUrl, FLEETKIT_DATA_DIR: platform.dataDir },
  });
}
