import { describe, expect, it } from 'vitest';
import { AtLineFramer, escapeBytes } from '../../../../edge/src/modem/at-framer.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('AT line framing', () => {
  it.each([
    ['CR LF framed response', ['\r\n+CSQ: 20,99\r\n\r\nOK\r\n'], ['+CSQ: 20,99', 'OK']],
    ['echo ended by a lone CR', ['AT+CSQ\r\r\nOK\r\n'], ['AT+CSQ', 'OK']],
    ['CR in one chunk, LF in the next', ['\r\nOK\r', '\n'], ['OK']],
    ['a line cut mid-word in three chunks', ['\r\n+CE', 'REG: ', '1\r\n'], ['+CEREG: 1']],
    [
      'several lines in one chunk',
      ['\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n'],
      ['RDY', '+CPIN: READY', 'OK'],
    ],
    ['bare LF line ends (some vendors)', ['OK\n+CEREG: 2\n'], ['OK', '+CEREG: 2']],
    ['blank lines and spaces only', ['\r\n\r\n   \r\n'], []],
    ['trailing spaces trimmed', ['\r\nOK  \r\n'], ['OK']],
  ])('%s', (_name, chunks, lines) => {
    // Prepare
    const framer = new AtLineFramer();

    // Act
    const frames = chunks.flatMap((chunk) => framer.push(bytes(chunk)));

    // Assess
    expect(frames).toEqual(lines.map((text) => ({ kind: 'line', text })));
  });

  it('keeps an unterminated line until its terminator comes', () => {
    // Prepare
    const framer = new AtLineFramer();

    // Act
    const first = framer.push(bytes('\r\n+CESQ: 99,99'));
    const pending = framer.pending();
    const second = framer.push(bytes(',255,255,20,50\r\n'));

    // Assess
    expect(first).toEqual([]);
    expect(pending).toBe('+CESQ: 99,99');
    expect(second).toEqual([{ kind: 'line', text: '+CESQ: 99,99,255,255,20,50' }]);
  });

  it.each([
    ['a noise burst on its own line', '\x00\xff\xfe\r\nOK\r\n', '\\x00\\xff\\xfe'],
    ['noise glued to a line', '\xffRDY\r\nOK\r\n', '\\xffRDY'],
    ['an escape sequence', '\x1b[2J\r\nOK\r\n', '\\x1b[2J'],
  ])('%s is dropped as non-printable, the next line survives', (_name, input, shown) => {
    // Prepare
    const framer = new AtLineFramer();

    // Act
    const frames = framer.push(bytes(input));

    // Assess
    expect(frames).toEqual([
      { kind: 'garbage', reason: 'non-printable', input: shown },
      { kind: 'line', text: 'OK' },
    ]);
  });

  it('drops a line longer than the limit as line-too-long, then frames normally', () => {
    // Prepare
    const framer = new AtLineFramer(16);

    // Act
    const frames = framer.push(bytes(`${'A'.repeat(100)}\r\nOK\r\n`));

    // Assess
    expect(frames).toEqual([
      { kind: 'garbage', reason: 'line-too-long', input: `${'A'.repeat(16)}...` },
      { kind: 'line', text: 'OK' },
    ]);
  });

  it('escapes bytes for logs', () => {
    // Act
    const shown = escapeBytes(bytes('A\r\n\\\x00\x7f'));

    // Assess
    expect(shown).toBe('A\\r\\n\\\\\\x00\\x7f');
  });
});
