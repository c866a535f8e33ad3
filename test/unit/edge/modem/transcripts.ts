import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the recorded AT transcripts live. */
export const TRANSCRIPT_DIR = join(import.meta.dirname, '../../../fixtures/modem');

/** One step of a transcript: a command the host sends and the chunks the modem answers with. */
export interface TranscriptStep {
  /** Undefined for the chunks that arrive before the first command. */
  readonly command?: string;
  readonly chunks: readonly Buffer[];
}

/** What the channel must make of a transcript (`*.expected.json`). */
export interface TranscriptExpectation {
  readonly commands: readonly {
    readonly command: string;
    readonly lines?: readonly string[];
    readonly error?: Readonly<Record<string, unknown>>;
  }[];
  readonly urcs: readonly string[];
  readonly dropped: readonly string[];
  readonly echoes: number;
}

/** Turns `\r`, `\n`, `\\`, `\xHH` escapes into bytes. */
export function unescapeChunk(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char !== '\\') {
      bytes.push(char.charCodeAt(0));
      continue;
    }
    const next = text[++i];
    if (next === 'r') bytes.push(0x0d);
    else if (next === 'n') bytes.push(0x0a);
    else if (next === '\\') bytes.push(0x5c);
    else if (next === 'x') {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`unknown escape \\${next} in ${text}`);
  }
  return Buffer.from(bytes);
}

/** Parses a `*.at` transcript into steps. */
export function parseTranscript(text: string): TranscriptStep[] {
  const steps: { command?: string; chunks: Buffer[] }[] = [{ chunks: [] }];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('> ')) steps.push({ command: raw.slice(2), chunks: [] });
    else if (raw.startsWith('< ')) steps[steps.length - 1]?.chunks.push(unescapeChunk(raw.slice(2)));
    else if (raw.trim() !== '' && !raw.startsWith('#')) throw new Error(`bad transcript line: ${raw}`);
  }
  return steps;
}

/** Every transcript in the fixtures folder, with its expectation. */
export function loadTranscripts(): {
  name: string;
  steps: TranscriptStep[];
  expected: TranscriptExpectation;
}[] {
  return readdirSync(TRANSCRIPT_DIR)
    .filter((file) => file.endsWith('.at'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -3);
      return {
        name,
        steps: parseTranscript(readFileSync(join(TRANSCRIPT_DIR, file), 'latin1')),
        expected: JSON.parse(readFileSync(join(TRANSCRIPT_DIR, `${name}.expected.json`), 'utf8')),
      };
    });
}

/** The same bytes cut differently: as recorded, one byte at a time, merged per reply, or at seeded random places. */
export type Rechunking = 'as recorded' | 'byte by byte' | 'merged' | 'random cuts';

export function rechunk(chunks: readonly Buffer[], how: Rechunking, seed = 7): Buffer[] {
  const all = Buffer.concat(chunks);
  if (how === 'as recorded') return [...chunks];
  if (how === 'merged') return all.length > 0 ? [all] : [];
  if (how === 'byte by byte') return [...all].map((byte) => Buffer.from([byte]));
  const out: Buffer[] = [];
  let state = seed;
  for (let i = 0; i < all.length; ) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const size = 1 + (state % 9);
    out.push(all.subarray(i, i + size));
    i += size;
  }
  return out;
}
