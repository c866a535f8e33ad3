import { type CliIo, runCli } from '../../lib/cli/main.ts';

/** Runs one CLI command as `npm run cli` would, with stdout and stderr captured (stdout not a terminal). */
export async function runCapturedCli(
  argv: readonly string[],
  io: Omit<CliIo, 'out' | 'err'>,
): Promise<{ code: number; out: string; err: string }> {
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
