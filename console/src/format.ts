/** "3 min ago", "2 h ago": how long ago an ISO time or epoch ms was. */
export function ago(time: string | number | undefined): string {
  if (time === undefined) return 'never';
  const ms = Date.now() - (typeof time === 'number' ? time : Date.parse(time));
  if (!Number.isFinite(ms)) return '?';
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return `${Math.round(ms / 86_400_000)} d ago`;
}

/** A time as people read it, in their own zone. */
export function clock(time: string | number | undefined): string {
  if (time === undefined) return '';
  return new Date(time).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** 12.5 %, 100 %. */
export const percent = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? '–' : `${Math.round(value * 10) / 10} %`;

/** Bytes as people read them. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
