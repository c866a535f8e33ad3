/**
 * What a handler needs from the process it runs in, injected so the local platform and tests
 * can capture logs and metrics and control time.
 */
export interface HandlerRuntime {
  /** Writes one line to the function's log (stdout in Lambda, where CloudWatch Logs picks it up). */
  readonly write: (line: string) => void;
  readonly now: () => number;
}

/** The runtime in AWS Lambda: lines to stdout, the system clock. */
export const processRuntime: HandlerRuntime = {
  write: (line) => {
    process.stdout.write(`${line}\n`);
  },
  now: Date.now,
};

/** Env a handler is built from: the function's own env vars in Lambda, a per-function map locally. */
export type HandlerEnv = Readonly<Record<string, string | undefined>>;

/** Reads a required env var, naming it when it is missing so the deployment can be fixed. */
export function requireEnv(env: HandlerEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `env var ${name} is not set: the topology's 'uses' for this function must include its resource`,
    );
  }
  return value;
}
