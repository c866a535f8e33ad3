import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { AtChannel, type AtCommandOptions } from '../../../../edge/src/modem/at-channel.ts';
import { isCeregReadResponse } from '../../../../edge/src/modem/registration.ts';
import { closePort, VirtualClock } from './support.ts';
import { loadTranscripts, type Rechunking, rechunk, type TranscriptStep } from './transcripts.ts';

/** The options the driver gives a command: its response prefix, and the +CEREG read-form test. */
function optionsFor(command: string): AtCommandOptions {
  const name = /^AT(\+[A-Z]+)/i.exec(command)?.[1]?.toUpperCase();
  if (!name) return {};
  return command.toUpperCase() === 'AT+CEREG?'
    ? { prefix: name, accepts: isCeregReadResponse }
    : { prefix: name };
}

let portCount = 0;
const ports: SerialPortMock[] = [];

afterEach(async () => {
  for (const port of ports.splice(0)) await closePort(port);
});

/** Replays `steps` through an AtChannel on a mock port, cutting the modem's bytes as `how` says. */
async function replay(steps: readonly TranscriptStep[], how: Rechunking) {
  const clock = new VirtualClock();
  const path = `/dev/transcript-${++portCount}`;
  SerialPortMock.binding.createPort(path, { record: true });
  const port = new SerialPortMock({ path, baudRate: 115_200 });
  ports.push(port);
  await new Promise<void>((resolve) => port.on('open', () => resolve()));
  const channel = new AtChannel({ link: port, clock });
  const urcs: string[] = [];
  const dropped: string[] = [];
  channel.onUrc((line) => urcs.push(line));
  channel.onGarbage((error) => dropped.push(error.reason));
  const emit = async (chunks: readonly Buffer[]) => {
    for (const chunk of rechunk(chunks, how)) {
      port.port?.emitData(chunk);
      await clock.settle();
    }
  };
  const commands: { command: string; lines?: readonly string[]; error?: Record<string, unknown> }[] = [];
  const written: string[] = [];
  for (const step of steps) {
    if (step.command === undefined) {
      await emit(step.chunks);
      continue;
    }
    const { command } = step;
    const outcome = channel.send(command, optionsFor(command)).then(
      (response) => ({ command, lines: response.lines }),
      (error: Error & Record<string, unknown>) => ({
        command,
        error: Object.fromEntries(
          Object.entries({
            name: error.name,
            code: error.code,
            text: error.text,
            result: error.result,
          }).filter(([, v]) => v !== undefined),
        ),
      }),
    );
    await clock.settle();
    written.push(port.port?.lastWrite?.toString('latin1') ?? '');
    await emit(step.chunks);
    commands.push(await outcome);
  }
  return { commands, urcs, dropped, echoes: channel.counters.echoes, written };
}

describe('AT channel on recorded transcripts', () => {
  const transcripts = loadTranscripts();
  const cuts: Rechunking[] = ['as recorded', 'byte by byte', 'merged', 'random cuts'];

  it('finds the transcripts', () => {
    // Assess
    expect(transcripts.map((t) => t.name)).toEqual([
      'bringup-echo',
      'cereg-urc-during-read',
      'error-results',
      'noise',
      'psm-edrx',
    ]);
  });

  describe.each(transcripts)('$name', ({ steps, expected }) => {
    it.each(cuts)('cut %s → the expected responses, URCs and dropped input', async (how) => {
      // Prepare
      const commandLines = steps.flatMap((s) => (s.command === undefined ? [] : [`${s.command}\r`]));

      // Act
      const result = await replay(steps, how);

      // Assess
      expect(result.written).toEqual(commandLines);
      expect(result.commands).toEqual(expected.commands);
      expect(result.urcs).toEqual(expected.urcs);
      expect(result.dropped).toEqual(expected.dropped);
      expect(result.echoes).toBe(expected.echoes);
    });
  });
});
