import { encodeEdrxCycle } from './edrx.ts';
import {
  ceregLine,
  type EmulatedModemState,
  type EmulatedSim,
  type EmulatorActions,
  handleCommand,
  isRegisteredStat,
} from './emulator-commands.ts';
import { type ModemClock, systemModemClock } from './ports.ts';

/**
 * An emulated LTE-M / NB-IoT modem speaking the 3GPP TS 27.007 AT dialogue the driver uses, with
 * faults that can be scripted before or during a run. It is transport-free: bytes go in with
 * {@link ModemEmulator.input} and come out to {@link ModemEmulator.onOutput} listeners, so it can sit
 * behind `@serialport/binding-mock`, on one end of a pty pair, or in-process in a simulated device
 * (see `emulator-transports.ts`).
 */

/** Faults that hold until changed with {@link ModemEmulator.setFaults}. */
export interface EmulatorFaults {
  /** @default 'ready' */
  readonly sim?: EmulatedSim;
  /** `available` registers, `none` keeps searching (+CEREG 2), `denied` refuses (+CEREG 3). @default 'available' */
  readonly network?: 'available' | 'none' | 'denied';
  /** Delay before every reply, in ms (the echo is immediate). @default 0 */
  readonly replyDelayMs?: number;
  /** Extra delay for commands starting with a key (`'AT+CESQ': 8000`), in ms. */
  readonly slowCommands?: Readonly<Record<string, number>>;
  /** Reads commands and answers nothing, echo included: a hung firmware. Only a power cycle clears it. */
  readonly unresponsive?: boolean;
  /** Sends a burst of line noise (non-printable bytes on a line of their own) before every reply. */
  readonly noiseBeforeReplies?: boolean;
}

export interface ModemEmulatorOptions {
  /** @default systemModemClock */
  readonly clock?: ModemClock;
  /** @default 'LTE-M' */
  readonly rat?: 'LTE-M' | 'NB-IoT';
  /** @default 'fleetkit Mobile' */
  readonly operator?: string;
  /** Tracking area code, 4 hex digits. @default '2F1A' */
  readonly tac?: string;
  /** Cell id, up to 8 hex digits. @default '01A2D003' */
  readonly cellId?: string;
  /** Registered as roaming (+CEREG 5) rather than home (1). @default false */
  readonly roaming?: boolean;
  /** From network selection to registered. @default 2_000 */
  readonly registrationDelayMs?: number;
  /** From `+CFUN=1,1` (or a power cycle) to the boot banner. @default 3_000 */
  readonly bootDelayMs?: number;
  /** Boot banner. @default 'RDY' (Quectel) */
  readonly banner?: string;
  /** Mean RSRP (dBm) and RSRQ (dB). @default { rsrpDbm: -97, rsrqDb: -11 } */
  readonly signal?: { readonly rsrpDbm: number; readonly rsrqDb: number };
  /** Each +CESQ / +CSQ moves the signal by a seeded random walk, within ±6 dB of the mean. Off when omitted. */
  readonly signalWalk?: { readonly seed: number; readonly stepDb?: number };
  /** The SIM's PIN. @default '1234' */
  readonly pin?: string;
  /** The modem is on and has booted (echo on, +CMEE=0, as after power-up). @default true */
  readonly poweredOn?: boolean;
  readonly faults?: EmulatorFaults;
  /**
   * How many of the latest command lines {@link ModemEmulator.received} keeps: a long-running emulator
   * (a simulated device polling every 30 s for days) would otherwise grow without end. @default Infinity
   */
  readonly transcriptLines?: number;
}

/** How a scripted registration loss ends. */
export type OutageEnd =
  /** After `forMs`, +CEREG comes back by itself. */
  | { readonly afterMs: number }
  /** When the host deregisters (`AT+COPS=2`) and selects again. */
  | { readonly until: 're-register' }
  /** Only a reboot (`AT+CFUN=1,1` or a power cycle) brings it back. */
  | { readonly until: 'reset' };

/** Small seeded PRNG (mulberry32): the same seed gives the same signal walk. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NOISE = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x9c, 0x0d, 0x0a]);

/** The emulated modem. */
export class ModemEmulator {
  /** The command lines received, in order (the latest `transcriptLines` of them): the host's side of the transcript. */
  readonly received: string[] = [];
  private readonly clock: ModemClock;
  private readonly outputs = new Set<(bytes: Buffer) => void>();
  private readonly state: EmulatedModemState;
  private faults: EmulatorFaults;
  private partial = '';
  private work: Promise<void> = Promise.resolve();
  private booting = false;
  private outage: OutageEnd | undefined;
  private registration: AbortController | undefined;
  private readonly lifetime = new AbortController();
  private readonly random: (() => number) | undefined;
  private readonly actions: EmulatorActions = {
    register: () => this.register(),
    deregister: () => this.setStat(0),
    rebootAfterReply: () => {
      this.rebootPending = true;
    },
    deregistered: () => {
      if (this.outage && 'until' in this.outage && this.outage.until === 're-register')
        this.outage = undefined;
    },
  };
  private rebootPending = false;
  /** The mean the signal walk moves around: `options.signal` until {@link setSignal} moves it. */
  private signalMean: { rsrpDbm: number; rsrqDb: number };

  constructor(private readonly options: ModemEmulatorOptions = {}) {
    this.clock = options.clock ?? systemModemClock;
    this.faults = options.faults ?? {};
    this.random = options.signalWalk ? seeded(options.signalWalk.seed) : undefined;
    this.signalMean = { ...(options.signal ?? { rsrpDbm: -97, rsrqDb: -11 }) };
    this.state = {
      echo: true,
      cmee: 0,
      ceregN: 0,
      csconN: 0,
      cfun: 1,
      copsMode: 0,
      copsFormat: 0,
      sim: this.faults.sim ?? 'ready',
      pin: options.pin ?? '1234',
      stat: 0,
      act: options.rat === 'NB-IoT' ? 9 : 7,
      tac: options.tac ?? '2F1A',
      cellId: options.cellId ?? '01A2D003',
      operator: options.operator ?? 'fleetkit Mobile',
      contexts: new Map(),
      active: new Set(),
      psm: { mode: 0 },
      edrx: { mode: 0, act: options.rat === 'NB-IoT' ? 5 : 4 },
      rsrpDbm: options.signal?.rsrpDbm ?? -97,
      rsrqDb: options.signal?.rsrqDb ?? -11,
    };
    if (options.poweredOn ?? true) this.afterBoot(false);
  }

  /** A copy of what the modem holds now (for assertions). */
  snapshot(): Readonly<EmulatedModemState> {
    return { ...this.state, contexts: new Map(this.state.contexts), active: new Set(this.state.active) };
  }

  /** Calls `listener` with every chunk the modem sends; returns a function that removes it. */
  onOutput(listener: (bytes: Buffer) => void): () => void {
    this.outputs.add(listener);
    return () => this.outputs.delete(listener);
  }

  /** Bytes from the host. Command lines end with `<CR>` (S3); `<LF>` is ignored. */
  input(bytes: Uint8Array | string): void {
    if (this.faults.unresponsive || this.booting) return;
    const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1');
    for (const char of text) {
      if (char === '\n') continue;
      if (char !== '\r') {
        this.partial += char;
        continue;
      }
      const line = this.partial;
      this.partial = '';
      if (line.trim() === '') continue;
      if (this.state.echo) this.emit(`${line}\r`);
      this.received.push(line);
      const over = this.received.length - (this.options.transcriptLines ?? Number.POSITIVE_INFINITY);
      if (over > 0) this.received.splice(0, over);
      this.work = this.work.then(() => this.execute(line));
    }
  }

  /** Changes faults from now on (e.g. make replies slow half-way through a test). */
  setFaults(faults: EmulatorFaults): void {
    const simChanged = faults.sim !== undefined && faults.sim !== this.state.sim;
    this.faults = { ...this.faults, ...faults };
    if (simChanged && faults.sim) this.state.sim = faults.sim;
    const networkBack = faults.network === 'available' || (simChanged && faults.sim === 'ready');
    if (networkBack && !isRegisteredStat(this.state.stat) && this.canRegister()) this.register();
  }

  /** Sets the mean signal (the walk, if on, moves around it). */
  setSignal(signal: { readonly rsrpDbm: number; readonly rsrqDb: number }): void {
    this.signalMean = { rsrpDbm: signal.rsrpDbm, rsrqDb: signal.rsrqDb };
    this.state.rsrpDbm = signal.rsrpDbm;
    this.state.rsrqDb = signal.rsrqDb;
  }

  /**
   * Loses registration now: a +CEREG URC with `stat` (2 searching, 0 not registered, 4 out of
   * coverage), then registration comes back as `end` says.
   */
  loseRegistration(end: OutageEnd, stat: 0 | 2 | 4 = 2): void {
    this.outage = end;
    this.registration?.abort();
    this.setStat(stat);
    if ('afterMs' in end) {
      this.clock.sleep(end.afterMs, this.lifetime.signal).then(
        () => {
          if (this.outage !== end) return;
          this.outage = undefined;
          if (this.canRegister()) this.register();
        },
        () => {},
      );
    }
  }

  /** Sends bytes to the host now, between replies (default: a burst of noise on a line of its own). */
  injectGarbage(bytes: Uint8Array | string = NOISE): void {
    this.emit(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
  }

  /**
   * Sends `line` to the host now, between replies, as an unsolicited result (`\r\n<line>\r\n`): for
   * URCs in another vendor's wording than the emulator's own.
   */
  sendUrc(line: string): void {
    this.emit(`\r\n${line}\r\n`);
  }

  /** A hardware reset (PWRKEY / RESET_N): clears a hang, then boots as after `+CFUN=1,1`. */
  async powerCycle(): Promise<void> {
    this.faults = { ...this.faults, unresponsive: false };
    this.reboot();
  }

  /** Stops every timer (pending registrations, reboots, slow replies). */
  close(): void {
    this.lifetime.abort();
    this.registration?.abort();
  }

  private async execute(line: string): Promise<void> {
    const reply = handleCommand(this.state, this.actions, line);
    const slow = Object.entries(this.faults.slowCommands ?? {}).find(([prefix]) =>
      line.toUpperCase().startsWith(prefix.toUpperCase()),
    );
    const delay = (this.faults.replyDelayMs ?? 0) + (slow?.[1] ?? 0);
    if (delay > 0) {
      try {
        await this.clock.sleep(delay, this.lifetime.signal);
      } catch {
        return;
      }
    }
    if (/^AT\+C(E)?SQ$/i.test(line)) this.walkSignal();
    if (this.faults.noiseBeforeReplies) this.emit(NOISE);
    let text = '';
    for (const info of reply.lines) text += `\r\n${info}\r\n`;
    this.emit(`${text}\r\n${reply.final}\r\n`);
    if (this.rebootPending) {
      this.rebootPending = false;
      this.reboot();
    }
  }

  private walkSignal(): void {
    if (!this.random) return;
    const step = this.options.signalWalk?.stepDb ?? 1;
    const mean = this.signalMean;
    const move = (value: number, centre: number, scale: number) =>
      Math.min(centre + 6, Math.max(centre - 6, value + (this.random?.() ?? 0.5) * 2 * scale - scale));
    this.state.rsrpDbm = move(this.state.rsrpDbm, mean.rsrpDbm, step);
    this.state.rsrqDb = move(this.state.rsrqDb, mean.rsrqDb, step / 2);
  }

  private canRegister(): boolean {
    return this.state.cfun === 1 && this.state.copsMode === 0 && this.state.sim === 'ready' && !this.booting;
  }

  /** Searching (+CEREG 2) now; after `registrationDelayMs`, registered / denied / still searching. */
  private register(): void {
    // Selecting again while registered (a second +COPS=0) changes nothing, as on a real modem.
    if (isRegisteredStat(this.state.stat) && !this.outage) return;
    this.registration?.abort();
    const attempt = new AbortController();
    this.registration = attempt;
    if (this.state.stat !== 2) this.setStat(2);
    const network = this.outage ? 'none' : (this.faults.network ?? 'available');
    if (network === 'none') return;
    this.clock.sleep(this.options.registrationDelayMs ?? 2_000, attempt.signal).then(
      () => {
        if (this.registration !== attempt || this.outage) return;
        if ((this.faults.network ?? 'available') === 'denied') {
          this.setStat(3);
          return;
        }
        if (this.faults.network === 'none') return;
        this.setStat(this.options.roaming ? 5 : 1);
        if (this.state.csconN === 1) this.emit('\r\n+CSCON: 1\r\n');
        if (this.state.edrx.mode === 2) this.emitEdrx();
      },
      () => {},
    );
  }

  private emitEdrx(): void {
    const { act, value } = this.state.edrx;
    const requested = value ?? encodeEdrxCycle(81.92, act === 5 ? 5 : 4).bits;
    this.emit(`\r\n+CEDRXP: ${act},"${requested}","${requested}","0011"\r\n`);
  }

  private setStat(stat: number): void {
    const was = this.state.stat;
    this.state.stat = stat;
    if (!isRegisteredStat(stat)) this.state.active.clear();
    if (stat !== was && this.state.ceregN > 0) this.emit(`\r\n${ceregLine(this.state, false)}\r\n`);
  }

  private reboot(): void {
    this.booting = true;
    this.registration?.abort();
    this.state.stat = 0;
    this.state.active.clear();
    this.partial = '';
    if (this.outage && 'until' in this.outage && this.outage.until === 'reset') this.outage = undefined;
    this.clock.sleep(this.options.bootDelayMs ?? 3_000, this.lifetime.signal).then(
      () => this.afterBoot(true),
      () => {},
    );
  }

  /** State after power-up: echo on, numeric-free errors, no URCs; NVM settings (APN, PSM, +COPS mode) kept. */
  private afterBoot(announce: boolean): void {
    this.booting = false;
    Object.assign(this.state, { echo: true, cmee: 0, ceregN: 0, csconN: 0, cfun: 1, stat: 0 });
    this.state.sim = this.faults.sim ?? 'ready';
    if (announce) this.emit(`\r\n${this.options.banner ?? 'RDY'}\r\n`);
    if (this.canRegister()) this.register();
  }

  private emit(data: string | Buffer): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const listener of this.outputs) listener(bytes);
  }
}
