import { type CliIo, runCli } from '../../lib/cli/main.ts';
import type { Platform } from '../../lib/local/platform.ts';

/**
 * Runs the operator CLI against the local platform as `npm run cli` does (signing with the credentials
 * in the platform's data directory), stdout and stderr captured; stdout is not a terminal.
 */
export async function runCliOn(
  platform: Platform,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
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
    env: { FLEETKIT_API: platform.gatewayUrl, FLEETKIT_DATA_DIR: platform.dataDir },
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}
