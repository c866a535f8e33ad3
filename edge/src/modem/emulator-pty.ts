import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A pseudo-terminal pair made by `socat -d -d pty,raw,echo=0 pty,raw,echo=0`: two `/dev/pts/N`
 * paths joined back to back, so an emulator on one end and the driver with the real `SerialPort`
 * on the other talk through the kernel's tty layer. Needs Debian's `socat`.
 */
export interface PtyPair {
  /** The end the emulator sits on. */
  readonly modemPath: string;
  /** The end the driver opens. */
  readonly hostPath: string;
  /** Stops socat (both ptys go away). */
  close(): Promise<void>;
}

/**
 * The two pty paths socat reports on stderr with `-d -d` (`... N PTY is /dev/pts/3`), in order, once
 * both are there; undefined until then.
 */
export function parsePtyPaths(stderr: string): readonly [string, string] | undefined {
  const paths = [...stderr.matchAll(/PTY is (\/dev\/\S+)/g)].map((m) => m[1] as string);
  return paths.length >= 2 ? [paths[0] as string, paths[1] as string] : undefined;
}

/** Starts socat and resolves with the pair once it is transferring data; rejects if socat fails or is missing. */
export function openPtyPair(
  options: { readonly socat?: string; readonly timeoutMs?: number } = {},
): Promise<PtyPair> {
  const child: ChildProcess = spawn(
    options.socat ?? 'socat',
    ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise<PtyPair>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      void close();
      reject(new Error(`socat did not report two ptys within ${options.timeoutMs ?? 5_000} ms: ${stderr}`));
    }, options.timeoutMs ?? 5_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      const paths = parsePtyPaths(stderr);
      if (paths && stderr.includes('starting data transfer loop')) {
        clearTimeout(timer);
        resolve({ modemPath: paths[0], hostPath: paths[1], close });
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`socat exited (${code}) before the ptys were ready: ${stderr}`));
    });
  });
}
