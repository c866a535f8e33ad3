import { AUDIT_HELP } from './audit.ts';
import { COMMAND_HELP } from './command.ts';
import { IDENTITY_HELP } from './devices.ts';
import { DELTA_HELP } from './firmware-delta-command.ts';

/** `npm run cli -- --help`: every command (the completion table, `commands.ts`, is held to it by a test). */
export const HELP = `fleetkit — operator CLI for a fleetkit deployment (the local platform or AWS)

Usage: npm run cli -- <command> [options]

Firmware
  firmware upload <file> --version <v> --device-types <a,b> [--min-version <v>] [--notes <text>]
                  [--multipart] [--part-size <MiB>]
${DELTA_HELP}
  firmware list | firmware show <version> | firmware keys | firmware withdraw <version>
Edge models
  model upload <file.onnx> --version <v> --device-types <a,b> [--notes <text>]
                  checked against the device types' feature contract, then signed
  model list | model show <version> | model withdraw <version>
Rollouts
  rollout create <request.json> [--model <v>]
                                       the POST /rollouts body (see README), from a file or - for stdin;
                                       --model rolls out that edge model (model-update jobs); follows
                                       planning until the plan is cut (--json: answers at once)
  rollout preview <request.json>       the plan it would make: devices per wave, who is skipped and why
                                       (stores nothing; reads the registry whole: small fleets only)
  rollout list
  rollout status <id> [--watch]        per-wave progress; --watch redraws until the rollout ends
  rollout executions <id> [--status FAILED]
  rollout pause|resume|cancel|rollback <id> [--reason <text>]
Devices and fleet
  devices list [--type <t>] | devices show <id>
  devices set <id> [--groups <a,b>] [--attr key=value ...] [--unset key ...]
${IDENTITY_HELP}
  fleet health | alerts [--device <id>]
${COMMAND_HELP}
${AUDIT_HELP}
Shadows
  shadow get <thing> [--name <shadow>] | shadow update <thing> <json> [--name <shadow>]
Simulated fleet (the local platform only)
  sim status                           devices up, connected, held offline; connection retries
  sim faults                           the faults in force
  sim fault <offline|flaky-link|weak-signal|drain-battery|overheat|firmware-failure>
            [--things <a,b>] [--type <t>] [--groups <g>] [--percent <p>] [--salt <s>] [--for <seconds>]
            [--every <s> --down <s>] [--rsrp <dBm> --rsrq <dB>] [--to-percent <p> --over <seconds>] [--celsius <c>]
            [--version <v> --fail-at install|health-check]
  sim clear <faultId> | sim clear --all
Console and shell
  console                              a one-time sign-in link to the local platform's console
  completion [bash|zsh]                a shell completion script, e.g. source <(npm run -s cli -- completion)

Options
  --api <url>      the HTTP API (env FLEETKIT_API, default http://127.0.0.1:3000)
  --data-dir <p>   the local platform's data directory, whose credentials file signs requests
                   (env FLEETKIT_DATA_DIR, default .fleetkit)
  --aws            sign requests with SigV4 (IAM) for the deployed API, in AWS_REGION with the usual
                   AWS credentials (env, profile, SSO); or set FLEETKIT_AWS_REGION
  --json           print the API's JSON answers as they are, on stdout (one line per update with
                   --watch); progress goes to stderr, and errors are JSON there too: {"error": {...}}
  -h, --help       this text
`;
