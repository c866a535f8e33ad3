import { describe, expect, it } from 'vitest';
import { bar, formatBytes, type Output, progressBar } from '../../../lib/cli/progress.ts';

function capture(isTTY: boolean): Output & { text: () => string } {
  let text = '';
  return {
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    isTTY,
    columns: 120,
    text: () => text,
  } as Output & { text: () => string };
}

describe('CLI progress bars', () => {
  it('writes one line per 10 % step in a log, however many updates come', () => {
    // Prepare
    const out = capture(false);
    const progress = progressBar(out, 'uploading');
    // Act
    for (let i = 0; i <= 1000; i++) progress.update(i / 1000, `${i} parts`);
    progress.done('1000 parts');
    // Assess
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe(`uploading ${bar(0, '0 parts')}`);
    expect(lines[5]).toBe(`uploading [${'#'.repeat(15)}${'.'.repeat(15)}]  50 %  500 parts`);
    expect(lines[10]).toBe(`uploading [${'#'.repeat(30)}] 100 %  1000 parts`);
  });

  it('draws a cli-progress bar on a terminal, ending full with its label', () => {
    // Prepare
    const out = capture(true);
    const progress = progressBar(out, 'uploading');
    // Act
    progress.update(0.5, 'half');
    progress.done('12.0 MiB in 3 parts');
    // Assess: redrawn in place (carriage return / cursor moves), not one line per update.
    const text = out.text();
    expect(text).toContain(`uploading [${'#'.repeat(30)}] 100 % | 12.0 MiB in 3 parts`);
    expect(text.includes('\u001b[') || text.includes('\r')).toBe(true);
  });

  it('clamps what it is given and writes sizes as people read them', () => {
    expect(bar(Number.NaN)).toBe(`[${'.'.repeat(30)}]   0 %`);
    expect(bar(7)).toBe(`[${'#'.repeat(30)}] 100 %`);
    expect([formatBytes(512), formatBytes(1536), formatBytes(12 * 1024 ** 2)]).toEqual([
      '512 B',
      '1.5 KiB',
      '12.0 MiB',
    ]);
  });
});
