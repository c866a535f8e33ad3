import { type AtValue, intAt, parseParameters, stringAt } from './at-parser.ts';
import { CME_ERRORS } from './cme-errors.ts';
import { dbmToRsrpIndex, dbmToRssiIndex, dbToRsrqIndex } from './signal.ts';

/**
 * The AT dialogue of the emulated modem: one handler per 27.007 command, from a command line to the
 * reply the modem would give. The handlers read and change {@link EmulatedModemState} and call back
 * into the emulator for what takes time (registration, reboot).
 */

/** SIM states the emulator can be given. */
export type EmulatedSim = 'ready' | 'absent' | 'pin-required' | 'puk-required';

/** What the emulated modem holds; most of it is lost on reboot, as on a real one. */
export interface EmulatedModemState {
  echo: boolean;
  cmee: 0 | 1 | 2;
  ceregN: number;
  csconN: number;
  cfun: number;
  /** <mode> of the last +COPS: 0 automatic, 2 deregistered. Kept across reboots (NVM). */
  copsMode: 0 | 2;
  copsFormat: number;
  sim: EmulatedSim;
  pin: string;
  /** +CEREG <stat>. */
  stat: number;
  /** <AcT>: 7 (LTE-M) or 9 (NB-IoT). */
  act: 7 | 9;
  tac: string;
  cellId: string;
  operator: string;
  contexts: Map<number, { type: string; apn: string }>;
  active: Set<number>;
  psm: { mode: 0 | 1; tau?: string; activeTime?: string };
  edrx: { mode: number; act: number; value?: string };
  rsrpDbm: number;
  rsrqDb: number;
}

/** Actions a handler may start. */
export interface EmulatorActions {
  /** Network selection (automatic): searching, then registered after a delay if the network allows. */
  register(): void;
  /** Deregister (`+COPS=2`, `+CFUN=0/4`). */
  deregister(): void;
  /** Reboot after the reply has gone out (`+CFUN=1,1`). */
  rebootAfterReply(): void;
  /** Ends a `until: 're-register'` outage. */
  deregistered(): void;
}

/** A reply: information lines, then a final result code. */
export interface EmulatorReply {
  readonly lines: readonly string[];
  readonly final: string;
}

const ok = (...lines: string[]): EmulatorReply => ({ lines, final: 'OK' });

/** `+CME ERROR` in the form +CMEE selects (27.007 §9.1): ERROR, numeric or verbose. */
export function cmeError(state: EmulatedModemState, code: number): EmulatorReply {
  if (state.cmee === 0) return { lines: [], final: 'ERROR' };
  if (state.cmee === 1) return { lines: [], final: `+CME ERROR: ${code}` };
  return { lines: [], final: `+CME ERROR: ${CME_ERRORS.get(code) ?? code}` };
}

const ERROR: EmulatorReply = { lines: [], final: 'ERROR' };
const INCORRECT_PARAMETERS = 50;
const SIM_NOT_INSERTED = 10;
const SIM_PIN_REQUIRED = 11;
const SIM_PUK_REQUIRED = 12;
const INCORRECT_PASSWORD = 16;
const NO_NETWORK_SERVICE = 30;
const UNKNOWN_APN = 127;

/** Whether <stat> is registered (home or roaming). */
export function isRegisteredStat(stat: number): boolean {
  return stat === 1 || stat === 5;
}

/** The +CEREG line for `state`: the URC (`read` false) or the read response with <n> first. */
export function ceregLine(state: EmulatedModemState, read: boolean): string {
  const fields: string[] = [String(state.stat)];
  if (state.ceregN >= 2 && isRegisteredStat(state.stat)) {
    fields.push(`"${state.tac}"`, `"${state.cellId}"`, String(state.act));
    if (state.ceregN >= 4 && state.psm.mode === 1)
      fields.push('', '', `"${state.psm.activeTime ?? '00100001'}"`, `"${state.psm.tau ?? '00101010'}"`);
  }
  return `+CEREG: ${read ? `${state.ceregN},` : ''}${fields.join(',')}`;
}

function simCheck(state: EmulatedModemState): EmulatorReply | undefined {
  if (state.sim === 'absent') return cmeError(state, SIM_NOT_INSERTED);
  if (state.sim === 'pin-required') return cmeError(state, SIM_PIN_REQUIRED);
  if (state.sim === 'puk-required') return cmeError(state, SIM_PUK_REQUIRED);
  return undefined;
}

type Handler = (state: EmulatedModemState, actions: EmulatorActions, params: AtValue[]) => EmulatorReply;

/** Commands by name and form: `+CEREG=` set, `+CEREG?` read, `+CSQ` action. */
const HANDLERS: Readonly<Record<string, Handler>> = {
  '': () => ok(),
  I: () => ok('fleetkit emulated LTE-M/NB-IoT modem', 'Revision: FKEM01A01'),
  '+CGMI': () => ok('fleetkit'),
  '+CGMM': () => ok('FK-EMU-M1'),
  '+CGSN': () => ok('490154203237518'),
  '+CIMI': (s) => simCheck(s) ?? ok('001010123456789'),
  '+CMEE=': (s, _a, p) => {
    const n = intAt(p, 0) ?? 0;
    if (n !== 0 && n !== 1 && n !== 2) return cmeError(s, INCORRECT_PARAMETERS);
    s.cmee = n;
    return ok();
  },
  '+CMEE?': (s) => ok(`+CMEE: ${s.cmee}`),
  '+CPIN?': (s) => {
    if (s.sim === 'absent') return cmeError(s, SIM_NOT_INSERTED);
    return ok(
      `+CPIN: ${s.sim === 'pin-required' ? 'SIM PIN' : s.sim === 'puk-required' ? 'SIM PUK' : 'READY'}`,
    );
  },
  '+CPIN=': (s, a, p) => {
    if (s.sim === 'absent') return cmeError(s, SIM_NOT_INSERTED);
    if (s.sim === 'puk-required') return cmeError(s, SIM_PUK_REQUIRED);
    if (s.sim === 'ready') return cmeError(s, 3);
    if (stringAt(p, 0) !== s.pin) return cmeError(s, INCORRECT_PASSWORD);
    s.sim = 'ready';
    if (s.cfun === 1 && s.copsMode === 0) a.register();
    return ok();
  },
  '+CFUN?': (s) => ok(`+CFUN: ${s.cfun}`),
  '+CFUN=': (s, a, p) => {
    const fun = intAt(p, 0);
    const rst = intAt(p, 1) ?? 0;
    if (fun === undefined || ![0, 1, 4].includes(fun) || (rst !== 0 && rst !== 1))
      return cmeError(s, INCORRECT_PARAMETERS);
    if (rst === 1) {
      a.rebootAfterReply();
      return ok();
    }
    s.cfun = fun;
    if (fun === 1 && s.copsMode === 0 && s.sim === 'ready') a.register();
    else if (fun !== 1) a.deregister();
    return ok();
  },
  '+CEREG=': (s, _a, p) => {
    const n = intAt(p, 0) ?? 0;
    if (n < 0 || n > 5) return cmeError(s, INCORRECT_PARAMETERS);
    s.ceregN = n;
    return ok();
  },
  '+CEREG?': (s) => ok(ceregLine(s, true)),
  '+CSCON=': (s, _a, p) => {
    s.csconN = intAt(p, 0) ?? 0;
    return ok();
  },
  '+CSCON?': (s) => ok(`+CSCON: ${s.csconN},${isRegisteredStat(s.stat) ? 1 : 0}`),
  '+COPS=': (s, a, p) => {
    const mode = intAt(p, 0);
    if (mode === 3) {
      s.copsFormat = intAt(p, 1) ?? 0;
      return ok();
    }
    if (mode !== 0 && mode !== 2) return cmeError(s, INCORRECT_PARAMETERS);
    const sim = simCheck(s);
    if (sim) return sim;
    s.copsMode = mode;
    if (mode === 0) a.register();
    else {
      a.deregister();
      a.deregistered();
    }
    return ok();
  },
  '+COPS?': (s) =>
    ok(
      isRegisteredStat(s.stat)
        ? `+COPS: ${s.copsMode},${s.copsFormat},"${s.operator}",${s.act}`
        : `+COPS: ${s.copsMode}`,
    ),
  '+CGATT?': (s) => ok(`+CGATT: ${isRegisteredStat(s.stat) ? 1 : 0}`),
  '+CGDCONT=': (s, _a, p) => {
    const cid = intAt(p, 0);
    const type = stringAt(p, 1);
    const apn = stringAt(p, 2) ?? '';
    if (cid === undefined || cid < 1 || cid > 15 || !['IP', 'IPV6', 'IPV4V6', 'Non-IP'].includes(type ?? ''))
      return cmeError(s, INCORRECT_PARAMETERS);
    s.contexts.set(cid, { type: type ?? 'IP', apn });
    return ok();
  },
  '+CGDCONT?': (s) => ok(...[...s.contexts].map(([cid, c]) => `+CGDCONT: ${cid},"${c.type}","${c.apn}"`)),
  '+CGACT=': (s, _a, p) => {
    const state = intAt(p, 0);
    const cid = intAt(p, 1) ?? 1;
    if (state !== 0 && state !== 1) return cmeError(s, INCORRECT_PARAMETERS);
    const sim = simCheck(s);
    if (sim) return sim;
    if (state === 0) {
      s.active.delete(cid);
      return ok();
    }
    if (!s.contexts.has(cid) || s.contexts.get(cid)?.apn === '') return cmeError(s, UNKNOWN_APN);
    if (!isRegisteredStat(s.stat)) return cmeError(s, NO_NETWORK_SERVICE);
    s.active.add(cid);
    return ok();
  },
  '+CGACT?': (s) => ok(...[...s.contexts.keys()].map((cid) => `+CGACT: ${cid},${s.active.has(cid) ? 1 : 0}`)),
  '+CSQ': (s) => {
    if (!isRegisteredStat(s.stat)) return ok('+CSQ: 99,99');
    // RSSI = RSRP + 10·log10(12·N_PRB) − RSRQ (36.214 §5.1.3): N = 6 for LTE-M, 1 for NB-IoT.
    const rssi = s.rsrpDbm - s.rsrqDb + (s.act === 7 ? 10 * Math.log10(6) : 0);
    return ok(`+CSQ: ${dbmToRssiIndex(rssi)},99`);
  },
  '+CESQ': (s) =>
    ok(
      isRegisteredStat(s.stat)
        ? `+CESQ: 99,99,255,255,${dbToRsrqIndex(s.rsrqDb)},${dbmToRsrpIndex(s.rsrpDbm)}`
        : '+CESQ: 99,99,255,255,255,255',
    ),
  '+CPSMS=': (s, _a, p) => {
    const mode = intAt(p, 0) ?? 0;
    if (mode !== 0 && mode !== 1) return cmeError(s, INCORRECT_PARAMETERS);
    const tau = stringAt(p, 3);
    const activeTime = stringAt(p, 4);
    if (
      (tau !== undefined && !/^[01]{8}$/.test(tau)) ||
      (activeTime !== undefined && !/^[01]{8}$/.test(activeTime))
    )
      return cmeError(s, INCORRECT_PARAMETERS);
    s.psm = { mode, tau: tau ?? s.psm.tau, activeTime: activeTime ?? s.psm.activeTime };
    return ok();
  },
  '+CPSMS?': (s) =>
    ok(`+CPSMS: ${s.psm.mode},,,"${s.psm.tau ?? '00101010'}","${s.psm.activeTime ?? '00100001'}"`),
  '+CEDRXS=': (s, _a, p) => {
    const mode = intAt(p, 0) ?? 0;
    const act = intAt(p, 1) ?? s.edrx.act;
    const value = stringAt(p, 2);
    if (mode < 0 || mode > 3 || (act !== 4 && act !== 5) || (value !== undefined && !/^[01]{4}$/.test(value)))
      return cmeError(s, INCORRECT_PARAMETERS);
    s.edrx = { mode, act, value: value ?? s.edrx.value };
    return ok();
  },
  '+CEDRXS?': (s) =>
    ok(s.edrx.mode === 0 ? '+CEDRXS: 0' : `+CEDRXS: ${s.edrx.act},"${s.edrx.value ?? '0101'}"`),
};

/**
 * The reply to one command line (without its `<CR>`), as 27.007 / V.250 define it. Only single commands
 * are understood (no `;` concatenation); anything unknown is `ERROR`, as V.250 §5.6 has it.
 */
export function handleCommand(
  state: EmulatedModemState,
  actions: EmulatorActions,
  line: string,
): EmulatorReply {
  const match = /^AT(E[01]?|I|[+][A-Z]+)?(=\?|=|\?)?(.*)$/i.exec(line.trim());
  if (!match) return ERROR;
  const name = (match[1] ?? '').toUpperCase();
  if (name.startsWith('E')) {
    if (match[2] !== undefined) return ERROR;
    state.echo = name === 'E1';
    return ok();
  }
  const form = match[2] ?? '';
  if (form === '=?') return HANDLERS[`${name}=`] ? ok() : ERROR;
  const handler = HANDLERS[`${name}${form}`];
  const params = parseParameters(match[3] ?? '');
  if (!handler || params === undefined || (form === '' && (match[3] ?? '') !== '')) return ERROR;
  return handler(state, actions, params);
}
