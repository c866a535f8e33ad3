import type { BuiltInCommandName } from '../../../lib/protocol/command-catalog.ts';
import type { Reading } from '../../../lib/protocol/messages.ts';
import type { Clock } from '../ota/ports.ts';
import type { CommandHandler, CommandOutcome } from './edge-commands.ts';
import { type CommandRotator, rotateCertificateHandler } from './rotate-certificate.ts';

/** What the built-in commands act on: the agent's parts, behind a port. */
export interface CommandHost {
  readonly clock: Clock;
  /** Length of one configured second in clock ms (the simulated fleet runs on compressed time). */
  readonly msPerSecond: number;
  /** Samples the sensors and sends the reading at once, outside the batch. */
  sampleNow(): Promise<Reading>;
  /** Samples every `seconds` until {@link CommandHost.endSamplingOverride}. */
  overrideSamplingInterval(seconds: number): void;
  /** Back to the interval of the settings in effect (the shadow's). */
  endSamplingOverride(): void;
  diagnostics(): Promise<Record<string, unknown>>;
  /**
   * Restarts the agent through its clean shutdown (exit code 75, which the recipe's Run loop and
   * systemd start again, as the OTA reboot does). Must not wait for the shutdown, which waits for the
   * command under way. Without it the device cannot restart itself, and `reboot` fails.
   */
  readonly restart?: () => void;
  /** The agent's certificate rotator; without it `rotate-certificate` fails (nothing of its own to rotate). */
  readonly rotator?: CommandRotator;
}

/**
 * The catalog's built-in commands (`BUILT_IN_COMMANDS`): `sample-now`, `reboot`, `set-interval`,
 * `diagnostics`, `ping`, `rotate-certificate`. Parameters reach them already checked against the catalog's schemas.
 */
export class BuiltInCommands {
  private override: AbortController | undefined;
  readonly handlers: Readonly<Record<BuiltInCommandName, CommandHandler>>;

  constructor(private readonly host: CommandHost) {
    this.handlers = {
      'sample-now': async () => ({ status: 'SUCCEEDED', result: { reading: await host.sampleNow() } }),
      reboot: async () => {
        if (host.restart === undefined)
          return { status: 'FAILED', reason: 'this agent runs without a service manager to restart it' };
        host.restart();
        return { status: 'RESTARTING' };
      },
      'set-interval': async (parameters) =>
        this.setInterval(Number(parameters.seconds), Number(parameters.for)),
      diagnostics: async () => ({ status: 'SUCCEEDED', result: await host.diagnostics() }),
      ping: async (_parameters, request) => {
        const now = host.clock.now();
        // How late the device is to hear it, clock skew included: an operator sees both at once.
        return {
          status: 'SUCCEEDED',
          result: { pong: true, deviceTime: now, sinceIssuedMs: now - request.issuedAt },
        };
      },
      'rotate-certificate': rotateCertificateHandler(host.rotator),
    };
  }

  /** Ends a `set-interval` override's wait (the agent is stopping: its next start uses the shadow's). */
  stop(): void {
    this.override?.abort();
    this.override = undefined;
  }

  /** Samples every `seconds` for `forSeconds`, then goes back; a newer override replaces this one. */
  private setInterval(seconds: number, forSeconds: number): CommandOutcome {
    this.override?.abort();
    const override = new AbortController();
    this.override = override;
    const { clock, msPerSecond } = this.host;
    this.host.overrideSamplingInterval(seconds);
    const forMs = forSeconds * msPerSecond;
    clock.sleep(forMs, override.signal).then(
      () => {
        if (this.override !== override) return;
        this.override = undefined;
        this.host.endSamplingOverride();
      },
      () => {}, // replaced or stopped
    );
    return {
      status: 'SUCCEEDED',
      result: { samplingIntervalS: seconds, forSeconds, revertsAt: clock.now() + forMs },
    };
  }
}
