import { useEffect } from 'preact/hooks';
import { get } from '../api/client.ts';
import type { Alert, FleetHealth, GroupHealth } from '../api/types.ts';
import { type BarRow, Bars } from '../components/bars.tsx';
import { TimeChart } from '../components/chart.tsx';
import { Card, ErrorBox, Loading } from '../components/layout.tsx';
import { ago, percent } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { href } from '../router.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Online share seen by this tab since it opened, for the trend chart (kept across page changes). */
const onlineTrend: { t: number; online: number }[] = [];

function breakdown(groups: Readonly<Record<string, GroupHealth>>): BarRow[] {
  return Object.entries(groups)
    .sort(([, a], [, b]) => b.devices - a.devices)
    .map(([label, g]) => ({
      label,
      value: g.devices,
      note: `${g.devices} · ${percent(g.onlinePercent)} online`,
      tone: g.onlinePercent >= 95 ? 'good' : g.onlinePercent >= 80 ? 'warn' : 'bad',
    }));
}

/** Alerts raised per hour over the last 24 h. */
function alertsPerHour(alerts: readonly Alert[], now: number) {
  const start = Math.floor((now - DAY_MS) / HOUR_MS) * HOUR_MS;
  const times = Array.from({ length: 25 }, (_, i) => start + i * HOUR_MS);
  const counts = times.map(() => 0);
  for (const alert of alerts) {
    if (alert.state !== 'raised') continue;
    const slot = Math.floor((alert.at - start) / HOUR_MS);
    if (slot >= 0 && slot < counts.length) counts[slot] = (counts[slot] ?? 0) + 1;
  }
  return { times, counts };
}

function Stat(props: { label: string; value: string; tone?: string; id?: string }) {
  return (
    <div class={`stat ${props.tone ?? ''}`} id={props.id}>
      <span class="stat-value">{props.value}</span>
      <span class="stat-label">{props.label}</span>
    </div>
  );
}

/** The fleet at a glance: online share, breakdowns by type and firmware, battery and signal, the day's alerts. */
export function FleetPage() {
  const health = usePoll(() => get<FleetHealth>('/fleet/health'), 'fleet');
  const alerts = usePoll(() => get<{ alerts: Alert[] }>('/alerts', { limit: 200 }), 'alerts');
  const h = health.data;

  useEffect(() => {
    if (h === undefined) return;
    onlineTrend.push({ t: Date.parse(h.at), online: h.onlinePercent });
    if (onlineTrend.length > 720) onlineTrend.shift();
    // What the first-paint benchmark waits for: the fleet's figures on screen, not just the frame.
    if (performance.getEntriesByName('fleet-data').length === 0)
      requestAnimationFrame(() => performance.mark('fleet-data'));
  }, [h?.at]);

  const now = Date.now();
  const recent = (alerts.data?.alerts ?? []).filter((alert) => alert.at >= now - DAY_MS);
  const perHour = alertsPerHour(recent, now);

  return (
    <>
      <h1>Fleet</h1>
      <ErrorBox error={health.error} what="fleet health" />
      {h === undefined ? (
        <Loading />
      ) : (
        <>
          <div class="stats">
            <Stat
              id="online-percent"
              label={`online (${h.online} of ${h.devices})`}
              value={percent(h.onlinePercent)}
              tone={h.onlinePercent >= 95 ? 'good' : h.onlinePercent >= 80 ? 'warn' : 'bad'}
            />
            <Stat label="devices" value={String(h.devices)} />
            <Stat label="low battery" value={String(h.lowBattery)} tone={h.lowBattery > 0 ? 'warn' : ''} />
            <Stat label="poor signal" value={String(h.poorSignal)} tone={h.poorSignal > 0 ? 'warn' : ''} />
          </div>
          <div class="grid">
            <Card title="By device type">
              <Bars label="devices by type" rows={breakdown(h.byType)} />
            </Card>
            <Card title="By firmware">
              <Bars label="devices by firmware" rows={breakdown(h.byFirmware)} />
            </Card>
            <Card title="Battery and signal">
              <Bars
                label="devices with low battery or poor signal"
                max={Math.max(1, h.devices)}
                rows={[
                  { label: 'low battery', value: h.lowBattery, tone: 'warn' },
                  { label: 'poor signal', value: h.poorSignal, tone: 'warn' },
                  { label: 'offline', value: h.devices - h.online, tone: 'bad' },
                ]}
              />
            </Card>
            <Card title="Online, since this page opened">
              <TimeChart
                title="online percent over time"
                times={onlineTrend.map((p) => p.t)}
                series={[{ label: 'online %', values: onlineTrend.map((p) => p.online), color: '#16a34a' }]}
                yRange={[0, 100]}
                height={160}
              />
            </Card>
          </div>
        </>
      )}
      <Card title="Alerts, last 24 h" id="alerts">
        <ErrorBox error={alerts.error} what="alerts" />
        <TimeChart
          title="alerts raised per hour"
          times={perHour.times}
          series={[{ label: 'raised per hour', values: perHour.counts, color: '#dc2626', bars: true }]}
          height={140}
        />
        <AlertTable alerts={recent} />
      </Card>
    </>
  );
}

/** Alerts as a table: newest first, each device a link. */
export function AlertTable(props: { alerts: readonly Alert[]; device?: boolean }) {
  if (props.alerts.length === 0) return <p class="muted">No alerts.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>when</th>
            {props.device !== false && <th>device</th>}
            <th>alert</th>
            <th>severity</th>
            <th>value</th>
            <th>state</th>
          </tr>
        </thead>
        <tbody>
          {[...props.alerts]
            .sort((a, b) => b.at - a.at)
            .map((alert) => (
              <tr key={`${alert.id}/${alert.state}`}>
                <td title={new Date(alert.at).toISOString()}>{ago(alert.at)}</td>
                {props.device !== false && (
                  <td>
                    <a href={href(`devices/${encodeURIComponent(alert.deviceId)}`)}>{alert.deviceId}</a>
                  </td>
                )}
                <td>{alert.type}</td>
                <td>
                  <span class={`badge ${alert.severity}`}>{alert.severity}</span>
                </td>
                <td>
                  {alert.metric} {Math.round(alert.value * 100) / 100} (limit {alert.threshold})
                </td>
                <td>{alert.state}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
