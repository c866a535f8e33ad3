import { runCli } from '../lib/cli/main.ts';
import { sigV4Signer } from '../lib/cli/sigv4.ts';

/** The region to sign for: `--aws` uses AWS_REGION; FLEETKIT_AWS_REGION names one. */
function awsRegion(): string | undefined {
  if (process.env.FLEETKIT_AWS_REGION !== undefined) return process.env.FLEETKIT_AWS_REGION;
  return process.argv.includes('--aws')
    ? (process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION)
    : undefined;
}

async function stdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

process.exitCode = await runCli(process.argv.slice(2), {
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  stdin,
  // In AWS the HTTP API uses IAM authorization: FLEETKIT_AWS_REGION (or --aws) signs with SigV4.
  ...(awsRegion() === undefined ? {} : { sign: sigV4Signer(awsRegion() as string) }),
});
