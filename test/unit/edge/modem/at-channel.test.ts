import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { AtChannel } from '../../../../edge/src/modem/at-channel.ts';
import {
  AtTimeoutError,
  CmeError,
  type GarbageInputError,
  PortClosedError,
} from '../../../../edge/src/modem/errors.ts';
import { isCeregReadResponse } from '../../../../edge/src/modem/registration.ts';
import { closePort, rejection, VirtualClock } from './support.ts';

let portCount = 0;
const ports: SerialPortMock[] = [];

afterEach(async () => {
  for (const port of ports.splice(0)) await closePort(port);
});

/** An AtChannel on a `@serialport/binding-mock` port, with the modem's side driven by hand. */
async function setup(options: { lateResponseGraceMs?: number } = {}) {
  const clock = new VirtualClock();
  const path = `/dev/channel-${++portCount}`;
  SerialPortMock.binding.createPort(path, { record: true });
  const port = new SerialPortMock({ path, baudRate: 115_200 });
  ports.push(port);
  await new Promise<void>((resolve) => port.on('open', () => resolve()));
  const channel = new AtChannel({ link: port, clock, defaultTimeoutMs: 1_000, ...options });
  const urcs: string[] = [];
  const dropped: GarbageInputError[] = [];
  channel.onUrc((line) => urcs.push(line));
  channel.onGarbage((error) => dropped.push(error));
  const modemSends = async (text: string) => {
    port.port?.emitData(Buffer.from(text, 'latin1'));
    await clock.settle();
  };
  const written = () => port.port?.recording.toString('latin1') ?? '';
  return { clock, port, channel, urcs, dropped, modemSends, written };
}

describe('AT command queue', () => {
  it('writes one command at a time: the second waits for the first final result code', async () => {
    // Prepare
    const { clock, channel, modemSends, written } = await setup();

    // Act
    const first = channel.send('AT+CSQ', { prefix: '+CSQ' });
    const second = channel.send('AT+CESQ', { prefix: '+CESQ' });
    await clock.settle();
    const beforeReply = written();
    await modemSends('\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
    const afterReply = written();
    await modemSends('\r\n+CESQ: 99,99,255,255,18,44\r\n\r\nOK\r\n');

    // Assess
    expect(beforeReply).toBe('AT+CSQ\r');
    expect(afterReply).toBe('AT+CSQ\rAT+CESQ\r');
    await expect(first).resolves.toEqual({ command: 'AT+CSQ', lines: ['+CSQ: 20,99'] });
    await expect(second).resolves.toEqual({ command: 'AT+CESQ', lines: ['+CESQ: 99,99,255,255,18,44'] });
  });

  it('rejects with a typed timeout error when no final result code comes, and goes on with the next', async () => {
    // Prepare
    const { clock, channel, modemSends, written } = await setup({ lateResponseGraceMs: 500 });
    const slow = channel.send('AT+COPS=0', { timeoutMs: 3_000 });
    const next = channel.send('AT');

    // Act
    const error = await clock.run(rejection(slow));
    await clock.run(
      (async () => {
        while (!written().endsWith('AT\r')) await clock.sleep(100);
      })(),
    );
    await modemSends('\r\nOK\r\n');

    // Assess
    expect(error).toBeInstanceOf(AtTimeoutError);
    expect(error).toMatchObject({ command: 'AT+COPS=0', timeoutMs: 3_000 });
    expect(channel.counters.timeouts).toBe(1);
    await expect(next).resolves.toEqual({ command: 'AT', lines: [] });
  });

  it('a late OK of a timed-out command is dropped, not taken for the next command', async () => {
    // Prepare
    const { clock, channel, modemSends, dropped, written } = await setup({ lateResponseGraceMs: 5_000 });
    const slow = channel.send('AT+CESQ', { prefix: '+CESQ' });
    const next = channel.send('AT+CSQ', { prefix: '+CSQ' });
    await clock.run(rejection(slow));

    // Act
    const writtenBeforeLateReply = written();
    await modemSends('\r\n+CESQ: 99,99,255,255,18,44\r\n\r\nOK\r\n');
    const writtenAfterLateReply = written();
    await modemSends('\r\n+CSQ: 17,99\r\n\r\nOK\r\n');

    // Assess
    expect(writtenBeforeLateReply).toBe('AT+CESQ\r');
    expect(writtenAfterLateReply).toBe('AT+CESQ\rAT+CSQ\r');
    expect(dropped.map((d) => d.reason)).toEqual(['late-response', 'late-response']);
    await expect(next).resolves.toEqual({ command: 'AT+CSQ', lines: ['+CSQ: 17,99'] });
  });

  it('dispatches URCs that arrive while a command is in flight, without adding them to its response', async () => {
    // Prepare
    const { channel, modemSends, urcs } = await setup();
    const pending = channel.send('AT+CGDCONT?', { prefix: '+CGDCONT' });

    // Act
    await modemSends(
      '\r\n+CEREG: 2\r\n\r\n+CGDCONT: 1,"IP","iot"\r\n\r\n+CEDRXP: 4,"0101","0101","0011"\r\n\r\nOK\r\n',
    );

    // Assess
    await expect(pending).resolves.toEqual({ command: 'AT+CGDCONT?', lines: ['+CGDCONT: 1,"IP","iot"'] });
    expect(urcs).toEqual(['+CEREG: 2', '+CEDRXP: 4,"0101","0101","0011"']);
  });

  it('tells a +CEREG URC from the answer to AT+CEREG? by its form', async () => {
    // Prepare
    const { channel, modemSends, urcs } = await setup();
    const pending = channel.send('AT+CEREG?', { prefix: '+CEREG', accepts: isCeregReadResponse });

    // Act
    await modemSends(
      '\r\n+CEREG: 1,"2F1A","01A2D003",7\r\n\r\n+CEREG: 2,1,"2F1A","01A2D003",7\r\n\r\nOK\r\n',
    );

    // Assess
    await expect(pending).resolves.toMatchObject({ lines: ['+CEREG: 2,1,"2F1A","01A2D003",7'] });
    expect(urcs).toEqual(['+CEREG: 1,"2F1A","01A2D003",7']);
  });

  it('tolerates echo (ATE1): the command line coming back is not a response line', async () => {
    // Prepare
    const { channel, modemSends } = await setup();
    const pending = channel.send('AT+CGSN', { raw: true });

    // Act
    await modemSends('AT+CGSN\r\r\n490154203237518\r\n\r\nOK\r\n');

    // Assess
    await expect(pending).resolves.toEqual({ command: 'AT+CGSN', lines: ['490154203237518'] });
    expect(channel.counters.echoes).toBe(1);
  });

  it('resolves +CME ERROR to a typed error with code and text', async () => {
    // Prepare
    const { channel, modemSends } = await setup();
    const pending = rejection(channel.send('AT+CGACT=1,1'));

    // Act
    await modemSends('\r\n+CME ERROR: no network service\r\n');
    const error = await pending;

    // Assess
    expect(error).toBeInstanceOf(CmeError);
    expect(error).toMatchObject({ code: 30, text: 'no network service', command: 'AT+CGACT=1,1' });
  });

  it('counts a final result nobody waits for, and unknown lines, and keeps working', async () => {
    // Prepare
    const { channel, modemSends, dropped } = await setup();

    // Act
    await modemSends('\r\nOK\r\n\r\n+QIND: "csq",21,99\r\n\x00\xff\r\n');
    const after = channel.send('AT');
    await modemSends('\r\nOK\r\n');

    // Assess
    expect(dropped.map((d) => [d.reason, d.input])).toEqual([
      ['stray-final-result', 'OK'],
      ['unexpected-line', '+QIND: "csq",21,99'],
      ['non-printable', '\\x00\\xff'],
    ]);
    expect(channel.counters).toMatchObject({ stray: 2, garbage: 1 });
    await expect(after).resolves.toEqual({ command: 'AT', lines: [] });
  });

  it('fails the command in flight and every queued one when the port closes, and refuses new ones', async () => {
    // Prepare
    const { clock, port, channel } = await setup();
    const inFlight = channel.send('AT+COPS=0');
    const queued = channel.send('AT+CGACT=1,1');
    await clock.settle();

    // Act
    await closePort(port);
    const errors = await Promise.all([rejection(inFlight), rejection(queued), rejection(channel.send('AT'))]);

    // Assess
    expect(errors.map((e) => [e.constructor, (e as PortClosedError).command])).toEqual([
      [PortClosedError, 'AT+COPS=0'],
      [PortClosedError, 'AT+CGACT=1,1'],
      [PortClosedError, 'AT'],
    ]);
    expect(channel.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() by its owner fails pending commands with the reason given', async () => {
    // Prepare
    const { channel } = await setup();
    const pending = channel.send('AT');

    // Act
    channel.close('driver stopped');
    const error = await rejection(pending);

    // Assess
    expect(error).toBeInstanceOf(PortClosedError);
    expect(error.message).toBe('AT: driver stopped');
  });
});
