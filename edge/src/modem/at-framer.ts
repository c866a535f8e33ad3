/**
 * Splits the bytes a modem sends into lines (ITU-T V.250 §5.7.1: responses are framed
 * `<CR><LF>text<CR><LF>`). Chunks from the port are cut anywhere: a line may arrive in several
 * chunks, several lines in one chunk, a `<CR>` in one chunk and its `<LF>` in the next.
 *
 * Either `<CR>` or `<LF>` ends a line and empty lines are skipped, so `<CR><LF>`, a lone `<CR>`
 * (the echo of a command line ends with S3 = `<CR>` only) and a lone `<LF>` all frame the same way.
 *
 * Only printable ASCII (and TAB) is accepted: AT responses are in the IRA character set unless
 * `+CSCS` changes it, which this driver never does. A line holding any other byte (noise at
 * power-up, a baud-rate mismatch) is dropped whole with a reason, because a line with a corrupted
 * byte cannot be trusted. The `> ` prompt of SMS / socket send commands is not framed (not used).
 */

/** One framed unit: a text line, or input that was dropped and why. */
export type AtFrame =
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'garbage'; readonly reason: 'non-printable' | 'line-too-long'; readonly input: string };

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;

function isPrintable(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === TAB;
}

/** Shows bytes for a log line: printable ASCII as is, `\r`, `\n`, everything else as `\xHH`. */
export function escapeBytes(bytes: Iterable<number>): string {
  let out = '';
  for (const byte of bytes) {
    if (byte === CR) out += '\\r';
    else if (byte === LF) out += '\\n';
    else if (byte === 0x5c) out += '\\\\';
    else if (isPrintable(byte)) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Keeps the partial line between chunks; otherwise a pure bytes → frames function. */
export class AtLineFramer {
  private bytes: number[] = [];
  private corrupt = false;
  private overflowed = false;

  /** @param maxLineLength longest line accepted; longer ones are dropped as `line-too-long`. */
  constructor(private readonly maxLineLength = 1024) {}

  /** Frames one chunk; returns the lines (and dropped input) it completed, in order. */
  push(chunk: Uint8Array): AtFrame[] {
    const frames: AtFrame[] = [];
    for (const byte of chunk) {
      if (byte === CR || byte === LF) {
        const frame = this.endLine();
        if (frame) frames.push(frame);
        continue;
      }
      if (!isPrintable(byte)) this.corrupt = true;
      if (this.bytes.length < this.maxLineLength) this.bytes.push(byte);
      else this.overflowed = true;
    }
    return frames;
  }

  /** Bytes received since the last line ended (a partial line), escaped. */
  pending(): string {
    return escapeBytes(this.bytes);
  }

  private endLine(): AtFrame | undefined {
    const { bytes, corrupt, overflowed } = this;
    this.bytes = [];
    this.corrupt = false;
    this.overflowed = false;
    if (overflowed) return { kind: 'garbage', reason: 'line-too-long', input: `${escapeBytes(bytes)}...` };
    if (corrupt) return { kind: 'garbage', reason: 'non-printable', input: escapeBytes(bytes) };
    if (bytes.length === 0) return undefined;
    const text = String.fromCharCode(...bytes).trim();
    return text === '' ? undefined : { kind: 'line', text };
  }
}
