import { AtLineFramer } from './at-framer.ts';
import { errorFromFinalResult, parseFinalResult } from './at-parser.ts';
import { AtTimeoutError, GarbageInputError, type GarbageReason, PortClosedError } from './errors.ts';
import type { ModemClock, SerialLink } from './ports.ts';

/**
 * Unsolicited result codes the channel recognises by default: registration (27.007 §10.1.22, §7.2),
 * eDRX (§7.41), signalling connection (§10.1.31), packet domain events (§10.1.19), SIM state, and
 * the boot banners of common modules (Quectel `RDY` / `APP RDY`, Telit / Cinterion `^SYSSTART`).
 */
export const DEFAULT_URCS: readonly string[] = [
  '+CEREG',
  '+CREG',
  '+CGREG',
  '+CEDRXP',
  '+CSCON',
  '+CGEV',
  '+CPIN',
  '+CFUN',
  '+CTZE',
  '+CTZV',
  'RDY',
  'APP RDY',
  '^SYSSTART',
];

/** How one command is sent and how its response is recognised. */
export interface AtCommandOptions {
  /** Milliseconds to wait for the final result code. @default the channel's `defaultTimeoutMs` */
  readonly timeoutMs?: number;
  /**
   * Prefix of the command's information response (`+CSQ`). Lines with it are the command's, not URCs,
   * unless `accepts` says otherwise; lines with another prefix are checked against the URCs.
   */
  readonly prefix?: string;
  /**
   * Tells the command's response from a URC that shares its prefix (`+CEREG: 2,1` answers `AT+CEREG?`,
   * `+CEREG: 1` is a URC). Called only for lines carrying `prefix`.
   */
  readonly accepts?: (line: string) => boolean;
  /** The response is bare text without a prefix (`AT+CGSN` → the IMEI, `ATI`). */
  readonly raw?: boolean;
}

/** A command that ended with `OK` (or `CONNECT`), with its information lines. */
export interface AtResponse {
  readonly command: string;
  readonly lines: readonly string[];
}

export interface AtChannelOptions {
  readonly link: SerialLink;
  readonly clock: ModemClock;
  /** @default 5_000 */
  readonly defaultTimeoutMs?: number;
  /**
   * After a timeout, how long the channel waits for the command's late final result code before it
   * writes the next command, so that a slow `OK` is not taken for the next command's. @default 2_000
   */
  readonly lateResponseGraceMs?: number;
  /** URC names (`+CEREG`, `RDY`). @default DEFAULT_URCS */
  readonly urcs?: readonly string[];
  /** @default 1024 */
  readonly maxLineLength?: number;
}

/** What the channel has seen since it was created. */
export interface AtChannelCounters {
  garbage: number;
  stray: number;
  timeouts: number;
  echoes: number;
  urcs: number;
}

interface Pending {
  readonly command: string;
  readonly options: AtCommandOptions;
  readonly resolve: (response: AtResponse) => void;
  readonly reject: (error: Error) => void;
  readonly lines: string[];
  timer?: AbortController;
}

/**
 * One AT command at a time over a serial link (3GPP TS 27.007 §4, ITU-T V.250): writes the command,
 * collects its information lines until the final result code, and dispatches unsolicited result
 * codes that arrive at any time, including while a command is in flight. Dropped input never
 * throws: it is counted and reported to `onGarbage` listeners.
 */
export class AtChannel {
  readonly counters: AtChannelCounters = { garbage: 0, stray: 0, timeouts: 0, echoes: 0, urcs: 0 };
  private readonly framer: AtLineFramer;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  /** A timed-out command whose late final result code may still come. */
  private abandoned: { readonly command: string; readonly grace: AbortController } | undefined;
  private closedReason: string | undefined;
  private readonly urcListeners = new Set<(line: string) => void>();
  private readonly garbageListeners = new Set<(error: GarbageInputError) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly urcs: readonly string[];
  private readonly onData = (chunk: Buffer | string) => this.receive(chunk);
  private readonly onLinkClose = () => this.close('port closed');
  // A serial port's 'error' (a failed write, a read error before a disconnect) leaves it unusable; and
  // an 'error' nobody listens to would crash the process.
  private readonly onLinkError = (error: Error) => this.close(`port error: ${error.message}`);

  constructor(private readonly options: AtChannelOptions) {
    this.framer = new AtLineFramer(options.maxLineLength);
    this.urcs = options.urcs ?? DEFAULT_URCS;
    options.link.on('data', this.onData);
    options.link.on('close', this.onLinkClose);
    options.link.on('error', this.onLinkError);
  }

  /** True once the port closed or {@link close} was called; every later `send` rejects. */
  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * Queues `command` (without the trailing `<CR>`), resolves with its information lines on `OK`.
   * Rejects with {@link CmeError}, {@link CmsError} or {@link AtCommandError} on an error result code,
   * {@link AtTimeoutError} after the timeout, {@link PortClosedError} if the port closes first.
   */
  send(command: string, options: AtCommandOptions = {}): Promise<AtResponse> {
    return new Promise((resolve, reject) => {
      if (this.closedReason !== undefined) {
        reject(new PortClosedError(command, this.closedReason));
        return;
      }
      this.queue.push({ command, options, resolve, reject, lines: [] });
      this.pump();
    });
  }

  /** Calls `listener` with every unsolicited result code line; returns a function that removes it. */
  onUrc(listener: (line: string) => void): () => void {
    this.urcListeners.add(listener);
    return () => this.urcListeners.delete(listener);
  }

  /** Calls `listener` for every piece of input dropped; returns a function that removes it. */
  onGarbage(listener: (error: GarbageInputError) => void): () => void {
    this.garbageListeners.add(listener);
    return () => this.garbageListeners.delete(listener);
  }

  /** Calls `listener` once when the channel closes; returns a function that removes it. */
  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Stops listening to the link and fails the command in flight and every queued one. */
  close(reason = 'channel closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.options.link.off('data', this.onData);
    this.options.link.off('close', this.onLinkClose);
    // The 'error' listener stays: a write still in flight when the owner closes the port after this
    // fails with an 'error' event, which must not crash the process (it is ignored once closed).
    this.abandoned?.grace.abort();
    this.abandoned = undefined;
    const pending = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    this.current = undefined;
    for (const p of pending) {
      p.timer?.abort();
      p.reject(new PortClosedError(p.command, reason));
    }
    for (const listener of this.closeListeners) listener(reason);
  }

  private pump(): void {
    if (this.closedReason !== undefined || this.current || this.abandoned) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    const timeoutMs = next.options.timeoutMs ?? this.options.defaultTimeoutMs ?? 5_000;
    const timer = new AbortController();
    next.timer = timer;
    this.options.clock.sleep(timeoutMs, timer.signal).then(
      () => this.timeOut(next, timeoutMs),
      () => {},
    );
    this.options.link.write(`${next.command}\r`, (error) => {
      if (error && this.current === next) this.finish(next, new PortClosedError(next.command, error.message));
    });
  }

  private timeOut(pending: Pending, timeoutMs: number): void {
    if (this.current !== pending) return;
    this.counters.timeouts++;
    this.current = undefined;
    const grace = new AbortController();
    this.abandoned = { command: pending.command, grace };
    this.options.clock.sleep(this.options.lateResponseGraceMs ?? 2_000, grace.signal).then(
      () => this.endAbandoned(),
      () => {},
    );
    pending.reject(new AtTimeoutError(pending.command, timeoutMs));
  }

  private endAbandoned(): void {
    this.abandoned?.grace.abort();
    this.abandoned = undefined;
    this.pump();
  }

  private finish(pending: Pending, outcome: AtResponse | Error): void {
    pending.timer?.abort();
    if (this.current === pending) this.current = undefined;
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
    this.pump();
  }

  private receive(chunk: Buffer | string): void {
    if (this.closedReason !== undefined) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    for (const frame of this.framer.push(bytes)) {
      if (frame.kind === 'garbage') this.drop(frame.reason, frame.input);
      else this.route(frame.text);
    }
  }

  private route(line: string): void {
    const current = this.current;
    if (current && line.toUpperCase() === current.command.toUpperCase()) {
      // Echo (ATE1, the default after power-up): the command line coming back.
      this.counters.echoes++;
      return;
    }
    const final = parseFinalResult(line);
    if (final) {
      if (current) {
        this.finish(
          current,
          final.ok
            ? { command: current.command, lines: current.lines }
            : errorFromFinalResult(current.command, final),
        );
      } else if (this.abandoned) {
        this.drop('late-response', `${line} (for ${this.abandoned.command})`);
        this.endAbandoned();
      } else {
        this.drop('stray-final-result', line);
      }
      return;
    }
    if (current?.options.prefix && this.hasPrefix(line, current.options.prefix)) {
      if (!current.options.accepts || current.options.accepts(line)) {
        current.lines.push(line);
        return;
      }
    }
    if (this.isUrc(line)) {
      this.counters.urcs++;
      for (const listener of this.urcListeners) listener(line);
      return;
    }
    if (current?.options.raw) {
      current.lines.push(line);
      return;
    }
    if (this.abandoned) this.drop('late-response', `${line} (for ${this.abandoned.command})`);
    else this.drop('unexpected-line', line);
  }

  private hasPrefix(line: string, prefix: string): boolean {
    return line === prefix || line.startsWith(`${prefix}:`);
  }

  private isUrc(line: string): boolean {
    return this.urcs.some((name) => this.hasPrefix(line, name));
  }

  private drop(reason: GarbageReason, input: string): void {
    if (reason === 'stray-final-result' || reason === 'late-response' || reason === 'unexpected-line')
      this.counters.stray++;
    else this.counters.garbage++;
    const error = new GarbageInputError(reason, input);
    for (const listener of this.garbageListeners) listener(error);
  }
}
