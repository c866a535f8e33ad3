// biome-ignore-all lint/suspicious/noExplicitAny: renderers read the fields of the API's JSON answers

/** Columns of text, padded to the widest cell; the header underlined. */
export function table(
  header: readonly string[],
  rows: ReadonlyArray<readonly (string | number | undefined)[]>,
): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (cell === undefined ? '-' : String(cell))))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n')}\n`;
}

const ago = (iso: string | number | undefined, now = Date.now()) => {
  if (iso === undefined) return 'never';
  const s = Math.round((now - (typeof iso === 'number' ? iso : Date.parse(iso))) / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

const more = (answer: any) =>
  answer.nextToken === undefined ? '' : '(more: the API has another page; --json shows its nextToken)\n';

/** People's text for an API answer, by command; undefined prints the JSON (a shadow is best read as JSON). */
export const HUMAN: Readonly<Record<string, (answer: any) => string>> = {
  'devices list': (a) =>
    table(
      ['device', 'type', 'firmware', 'state', 'battery', 'rsrp', 'last seen'],
      a.devices.map((d: any) => [
        d.deviceId,
        d.deviceType,
        d.firmwareVersion,
        d.online === undefined ? 'never seen' : d.online ? 'online' : 'offline',
        d.battery?.percent === undefined ? undefined : `${d.battery.percent}%`,
        d.signal?.rsrp,
        ago(d.lastSeen),
      ]),
    ) + more(a),
  'devices show': (d) =>
    `${Object.entries(d)
      .map(
        ([key, value]) =>
          `${key.padEnd(18)} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
      )
      .join('\n')}\n`,
  'devices set': (d) =>
    `${d.deviceId}: groups ${(d.groups ?? []).join(', ') || '-'}; attributes ${JSON.stringify(d.attributes ?? {})}\n`,
  'firmware list': (a) =>
    table(
      ['version', 'device types', 'status', 'size', 'notes'],
      a.firmware.map((f: any) => [
        f.version,
        (f.deviceTypes ?? []).join(','),
        f.status,
        f.size,
        f.releaseNotes,
      ]),
    ) + more(a),
  'firmware withdraw': (f) => `firmware ${f.version ?? ''} withdrawn\n`,
  'rollout list': (a) =>
    table(
      ['rollout', 'firmware', 'status', 'devices', 'wave'],
      a.rollouts.map((r: any) => [
        r.rolloutId,
        r.firmwareVersion,
        r.status,
        r.planned,
        `${Math.min(r.currentWave + 1, r.waves)}/${r.waves}`,
      ]),
    ) + more(a),
  'rollout preview': (p) =>
    `${p.targeted} targeted, ${p.eligible} eligible${p.control > 0 ? `, ${p.control} held back as the control cohort` : ''}\n${table(
      ['wave', 'devices'],
      p.waves.map((w: any) => [w.control === true ? `${w.wave} (control)` : w.wave, w.planned]),
    )}${Object.entries(p.skipped)
      .filter(([, n]) => (n as number) > 0)
      .map(([why, n]) => `skipped ${n}: ${why}\n`)
      .join('')}`,
  'rollout executions': (a) =>
    table(
      ['device', 'status', 'details'],
      a.executions.map((e: any) => [e.thingName, e.status, JSON.stringify(e.statusDetails ?? {})]),
    ) + more(a),
  'fleet health': (h) =>
    `${h.online} of ${h.devices} devices online (${h.onlinePercent}%), ${h.lowBattery} low battery, ${h.poorSignal} poor signal\n${table(
      ['by', 'devices', 'online', 'low battery', 'poor signal'],
      [
        ...Object.entries(h.byType ?? {}).map(([k, g]: [string, any]) => [
          `type ${k}`,
          g.devices,
          `${g.onlinePercent}%`,
          g.lowBattery,
          g.poorSignal,
        ]),
        ...Object.entries(h.byFirmware ?? {}).map(([k, g]: [string, any]) => [
          `firmware ${k}`,
          g.devices,
          `${g.onlinePercent}%`,
          g.lowBattery,
          g.poorSignal,
        ]),
      ],
    )}`,
  alerts: (a) =>
    table(
      ['when', 'device', 'alert', 'severity', 'value', 'state'],
      a.alerts.map((x: any) => [
        ago(x.at),
        x.deviceId,
        x.type,
        x.severity,
        `${x.metric} ${x.value}`,
        x.state,
      ]),
    ) + more(a),
  console: (l) => `open the console (one-time link, until ${l.expiresAt}):\n  ${l.url}\n`,
};
