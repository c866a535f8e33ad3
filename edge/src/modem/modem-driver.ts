import type { ModemStatus, RegistrationState } from '../../../lib/protocol/modem.ts';
import { AtChannel } from './at-channel.ts';
import { backoffDelay, recoveryActionFor } from './backoff.ts';
import { repeatEvery, waitForNotification } from './clock-waits.ts';
import { type EdrxRequest, parseCedrxp } from './edrx.ts';
import {
  AtTimeoutError,
  type GarbageInputError,
  ModemStoppedError,
  PortClosedError,
  RegistrationError,
} from './errors.ts';
import { isBootBanner, isFatal, prepareModem } from './modem-bring-up.ts';
import {
  quoteAtString,
  readOperator,
  readRegistration,
  readSignal,
  requestEdrx,
  requestPsm,
} from './modem-commands.ts';
import {
  DEFAULT_RECOVERY,
  DEFAULT_TIMEOUTS,
  type ModemDriverOptions,
  type ModemTimeouts,
  type RecoveryOptions,
} from './modem-options.ts';
import {
  edrxReportPatch,
  nextStatus,
  psmRequestedPatch,
  registrationPatch,
  signalPatch,
} from './modem-status.ts';
import { type ModemClock, systemModemClock } from './ports.ts';
import type { PsmRequest } from './psm.ts';
import { isRegistered, parseCereg, type Registration } from './registration.ts';

export type { ModemDriverOptions, ModemPower, ModemTimeouts, RecoveryOptions } from './modem-options.ts';

/**
 * A cellular modem driven with 3GPP TS 27.007 AT commands over an injected serial link.
 *
 * `start()` brings the modem up (sync, echo off, verbose +CME ERROR, SIM, +CEREG URCs, PDP context,
 * PSM / eDRX, automatic network selection, registration, PDP activation) and keeps it up: lost
 * registration or a modem that stops answering starts recovery (re-register, then reset, with
 * capped exponential backoff). Everything it knows is in {@link status}, a {@link ModemStatus}.
 */
export class ModemDriver {
  private readonly channel: AtChannel;
  private readonly clock: ModemClock;
  private readonly timeouts: ModemTimeouts;
  private readonly recoveryOptions: RecoveryOptions;
  private readonly random: () => number;
  private readonly stopSignal = new AbortController();
  private readonly statusListeners = new Set<(status: ModemStatus) => void>();
  private readonly registrationWaiters = new Set<() => void>();
  private readonly bootWaiters = new Set<() => void>();
  private current: ModemStatus;
  private recoveries = 0;
  private consecutiveTimeouts = 0;
  private recovering: Promise<void> | undefined;
  private lostRegistration: AbortController | undefined;
  private started = false;
  /** Brought up and not recovering: the state in which losses are watched for. */
  private up = false;
  private failure: Error | undefined;

  constructor(private readonly options: ModemDriverOptions) {
    this.clock = options.clock ?? systemModemClock;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.recoveryOptions = { ...DEFAULT_RECOVERY, ...options.recovery };
    this.random = options.random ?? Math.random;
    quoteAtString(options.apn, 'apn');
    this.channel = new AtChannel({
      link: options.link,
      clock: this.clock,
      defaultTimeoutMs: this.timeouts.command,
    });
    this.channel.onUrc((line) => this.handleUrc(line));
    this.channel.onGarbage((error) => this.handleGarbage(error));
    this.channel.onClose((reason) => this.handlePortClosed(reason));
    this.current = { state: 'off', registration: 'not-registered', bars: 0, updatedAt: this.clock.now() };
  }

  /** The latest status (a new object on every change). */
  get status(): ModemStatus {
    return this.current;
  }

  /** Calls `listener` on every status change; returns a function that removes it. */
  onStatus(listener: (status: ModemStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Brings the modem up. Resolves once it is registered with its PDP context active, after recovery if
   * the first bring-up fails; rejects with a {@link SimError} when the SIM is missing or locked (the
   * driver then reports `failed`), or {@link ModemStoppedError} when {@link stop} comes first.
   */
  async start(): Promise<ModemStatus> {
    if (this.started) throw new Error('ModemDriver.start() called twice');
    this.started = true;
    this.update({ state: 'starting' });
    try {
      await this.bringUp();
      this.up = true;
      this.update({ state: 'registered', recovery: { attempt: 0 } });
    } catch (error) {
      this.throwIfStopped('start');
      if (isFatal(error) || error instanceof PortClosedError) {
        this.fail(error as Error);
        throw error;
      }
      this.recordError(error);
      await this.recover('bring-up failed');
      this.throwIfStopped('start');
      if (this.current.state === 'failed') throw this.failure ?? new Error('modem failed');
    }
    this.startPolling();
    return this.current;
  }

  /** Stops timers and recovery, fails pending commands, reports `off`. Does not close the port. */
  async stop(): Promise<void> {
    if (this.stopSignal.signal.aborted) return;
    this.stopSignal.abort(new ModemStoppedError('stop'));
    this.lostRegistration?.abort();
    this.channel.close('modem driver stopped');
    await this.recovering?.catch(() => {});
    this.update({ state: 'off' });
  }

  /** Reads +CESQ / +CSQ now and updates RSRP, RSRQ, RSSI and bars. */
  async refreshSignal(): Promise<ModemStatus> {
    const signal = await this.command(() => readSignal(this.channel, this.timeouts.command));
    this.update(signalPatch(signal));
    return this.current;
  }

  /** Sends `AT+CPSMS` for `request` and reports what was requested (rounded up to the encodings). */
  async configurePsm(request: PsmRequest): Promise<ModemStatus> {
    const requested = await this.command(() => requestPsm(this.channel, request, this.timeouts.command));
    this.update(psmRequestedPatch(this.current, requested));
    return this.current;
  }

  /** Sends `AT+CEDRXS` for `request` and reports the cycle requested (rounded up to a defined one). */
  async configureEdrx(request: EdrxRequest): Promise<ModemStatus> {
    const cycle = await this.command(() => requestEdrx(this.channel, request, this.timeouts.command));
    this.update({ edrx: { ...this.current.edrx, enabled: request.enabled, requestedCycleSeconds: cycle } });
    return this.current;
  }

  /** Sends any command through the driver's queue (for vendor commands); counts timeouts like its own. */
  send(command: string, options?: Parameters<AtChannel['send']>[1]) {
    return this.command(() => this.channel.send(command, options));
  }

  private async bringUp(): Promise<void> {
    const t = this.timeouts;
    const { cid = 1 } = this.options;
    await prepareModem(this.channel, (run) => this.command(run), this.options, t.command);
    if (this.options.psm) await this.configurePsm(this.options.psm);
    if (this.options.edrx) await this.configureEdrx(this.options.edrx);
    // During recovery the state stays `recovering` until the modem is back.
    if (this.current.state === 'starting') this.update({ state: 'searching' });
    await this.command(() => this.channel.send('AT+COPS=0', { timeoutMs: t.cops }));
    await this.waitForRegistration();
    await this.command(() => this.channel.send(`AT+CGACT=1,${cid}`, { timeoutMs: t.cgact }));
    const operator = await this.command(() => readOperator(this.channel, t.command));
    this.update({ operator });
    await this.refreshSignal();
  }

  /** Resolves when +CEREG says registered; polls `AT+CEREG?` in case a URC was missed. */
  private async waitForRegistration(): Promise<void> {
    const deadline = this.clock.now() + this.timeouts.registration;
    for (;;) {
      this.applyRegistration(await this.command(() => readRegistration(this.channel, this.timeouts.command)));
      for (;;) {
        const state = this.current.registration;
        if (isRegistered(state)) return;
        if (state === 'denied') throw new RegistrationError(state, 'the network refused registration');
        const remaining = deadline - this.clock.now();
        if (remaining <= 0)
          throw new RegistrationError(state, `not registered within ${this.timeouts.registration} ms`);
        const changed = await this.waitFor(
          this.registrationWaiters,
          Math.min(remaining, this.timeouts.registrationPoll),
        );
        if (!changed) break;
      }
    }
  }

  /** Waits until a waiter in `set` is called (true) or `ms` pass (false); rejects when stopped. */
  private waitFor(set: Set<() => void>, ms: number): Promise<boolean> {
    return waitForNotification(set, ms, this.clock, this.stopSignal.signal);
  }

  /** Runs recovery once at a time; later callers wait for the run in progress. */
  private recover(reason: string): Promise<void> {
    if (!this.recovering) {
      this.log('recovery-started', { reason });
      this.recovering = this.runRecovery().finally(() => {
        this.recovering = undefined;
      });
    }
    return this.recovering;
  }

  private async runRecovery(): Promise<void> {
    this.up = false;
    this.lostRegistration?.abort();
    this.lostRegistration = undefined;
    for (let attempt = 1; !this.stopSignal.signal.aborted; attempt++) {
      const action = recoveryActionFor(attempt, this.recoveryOptions.reRegisterAttempts);
      const delay = backoffDelay(attempt, this.recoveryOptions, this.random);
      this.update({
        state: 'recovering',
        recovery: { attempt, action, ...(delay > 0 ? { nextAttemptAt: this.clock.now() + delay } : {}) },
      });
      this.log('recovery-attempt', { attempt, action, delayMs: delay });
      try {
        if (delay > 0) await this.clock.sleep(delay, this.stopSignal.signal);
        if (action === 're-register') await this.channel.send('AT+COPS=2', { timeoutMs: this.timeouts.cops });
        else await this.reset();
      } catch (error) {
        if (this.stopSignal.signal.aborted) return;
        this.recordError(error);
        // A failed deregistration or reset command still goes on to bring-up: that is what recovers.
      }
      try {
        await this.bringUp();
        this.recoveries++;
        this.consecutiveTimeouts = 0;
        this.up = true;
        this.update({ state: 'registered', recovery: { attempt: 0 } });
        this.log('recovered', { attempt, action });
        return;
      } catch (error) {
        if (this.stopSignal.signal.aborted) return;
        if (isFatal(error) || error instanceof PortClosedError) {
          this.fail(error as Error);
          return;
        }
        this.recordError(error);
      }
    }
  }

  /** Power line if there is one, else `AT+CFUN=1,1` (27.007 §8.2: full functionality, reset first); then waits for the boot banner. */
  private async reset(): Promise<void> {
    const booted = this.waitFor(this.bootWaiters, this.timeouts.boot);
    // Observed at once so that a stop while the reset command fails leaves no unhandled rejection.
    const outcome = booted.then(
      () => undefined,
      (error: unknown) => error,
    );
    try {
      if (this.options.power) await this.options.power.reset();
      else await this.channel.send('AT+CFUN=1,1', { timeoutMs: this.timeouts.command });
    } catch (error) {
      // A modem that reboots at once may never send OK; the boot banner (or its absence) decides.
      if (!(error instanceof AtTimeoutError)) throw error;
    }
    const error = await outcome;
    if (error) throw error;
  }

  /** Runs an I/O step, counting consecutive timeouts; enough of them while registered starts recovery. */
  private async command<T>(run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      this.consecutiveTimeouts = 0;
      return result;
    } catch (error) {
      if (error instanceof AtTimeoutError) {
        this.consecutiveTimeouts++;
        this.update({});
        if (this.consecutiveTimeouts >= this.recoveryOptions.maxConsecutiveTimeouts && this.up) {
          this.recordError(error);
          void this.recover('modem not answering');
        }
      }
      throw error;
    }
  }

  private handleUrc(line: string): void {
    const registration = parseCereg(line);
    if (registration) {
      this.applyRegistration(registration);
      for (const waiter of [...this.registrationWaiters]) waiter();
      this.watchRegistration(registration.state);
      return;
    }
    const edrx = parseCedrxp(line);
    if (edrx) {
      this.update(edrxReportPatch(this.current, edrx));
      return;
    }
    if (isBootBanner(line)) {
      this.log('modem-booted', { banner: line });
      const waiting = this.bootWaiters.size > 0;
      for (const waiter of [...this.bootWaiters]) waiter();
      // A reboot nobody asked for loses ATE0, +CMEE and +CEREG settings: bring the modem up again.
      if (!waiting && this.up) {
        this.update({ registration: 'not-registered' });
        void this.recover('modem rebooted');
      }
    }
  }

  /** Lost registration while up: wait `lostRegistrationGraceMs` for it to come back, then recover. */
  private watchRegistration(state: RegistrationState): void {
    if (isRegistered(state)) {
      this.lostRegistration?.abort();
      this.lostRegistration = undefined;
      if (this.up && this.current.state === 'searching') this.update({ state: 'registered' });
      return;
    }
    if (!this.up || this.lostRegistration) return;
    this.update({ state: 'searching' });
    const grace = new AbortController();
    this.lostRegistration = grace;
    this.log('registration-lost', { registration: state });
    this.clock.sleep(this.recoveryOptions.lostRegistrationGraceMs, grace.signal).then(
      () => {
        this.lostRegistration = undefined;
        if (!isRegistered(this.current.registration)) void this.recover('registration lost');
      },
      () => {},
    );
  }

  private applyRegistration(registration: Registration): void {
    this.update(registrationPatch(this.current, registration));
  }

  private startPolling(): void {
    const every = this.options.pollEveryMs ?? 60_000;
    if (every <= 0) return;
    void repeatEvery(every, this.clock, this.stopSignal.signal, async () => {
      if (this.current.state !== 'registered') return;
      await this.refreshSignal().catch((error: unknown) => this.recordError(error));
    });
  }

  private handleGarbage(error: GarbageInputError): void {
    this.log('input-dropped', { reason: error.reason, input: error.input });
    this.update({});
  }

  private handlePortClosed(reason: string): void {
    if (this.stopSignal.signal.aborted) return;
    this.fail(new PortClosedError('(port)', reason));
  }

  private fail(error: Error): void {
    this.failure = error;
    this.up = false;
    this.lostRegistration?.abort();
    this.recordError(error);
    this.update({ state: 'failed' });
    this.log('failed', { error: error.message });
  }

  private recordError(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.update({ lastError: { name: e.name, message: e.message, at: this.clock.now() } });
  }

  private throwIfStopped(operation: string): void {
    if (this.stopSignal.signal.aborted) throw new ModemStoppedError(operation);
  }

  private update(patch: Partial<ModemStatus>): void {
    const next = nextStatus(this.current, patch, this.channel.counters, this.recoveries, this.clock.now());
    this.current = next;
    for (const listener of this.statusListeners) listener(next);
  }

  private log(event: string, fields?: Readonly<Record<string, unknown>>): void {
    this.options.log?.(event, fields);
  }
}
