import { get } from '../api/client.ts';
import type { AggregateWindow } from '../api/types.ts';
import { COLORS, TimeChart } from '../components/chart.tsx';
import { Card, ErrorBox, Loading } from '../components/layout.tsx';
import { usePoll } from '../hooks.ts';

const SIGNAL = ['rsrp', 'rsrq'];
const UNITS: Readonly<Record<string, string>> = {
  temperature: '°C',
  humidity: '%',
  battery: '%',
  rsrp: 'dBm',
  rsrq: 'dB',
  anomalyScore: 'score',
};

function metricSeries(windows: readonly AggregateWindow[], metric: string, color: string) {
  const pick = (f: (m: { min: number; max: number; mean?: number; sum?: number; count: number }) => number) =>
    windows.map((w) => {
      const m = w.metrics[metric];
      return m === undefined ? null : f(m);
    });
  return [
    { label: 'mean', values: pick((m) => m.mean ?? (m.sum ?? 0) / Math.max(1, m.count)), color },
    { label: 'min', values: pick((m) => m.min), color: '#94a3b8', dashed: true },
    { label: 'max', values: pick((m) => m.max), color: '#64748b', dashed: true },
  ];
}

/**
 * The device's 1-minute aggregates of the last hours (`GET /devices/{id}/aggregates`): its latest
 * readings as a table, each metric plotted (mean with min and max), and the radio's RSRP and RSRQ in a
 * card of their own.
 */
export function DeviceTelemetry(props: { deviceId: string }) {
  const windows = usePoll(
    () =>
      get<{ windows: AggregateWindow[] }>(`/devices/${encodeURIComponent(props.deviceId)}/aggregates`, {
        from: Date.now() - 3 * 3_600_000,
        limit: 180,
      }),
    `aggregates:${props.deviceId}`,
    15_000,
  );
  if (windows.error !== undefined) return <ErrorBox error={windows.error} what="telemetry" />;
  if (windows.data === undefined) return <Loading />;
  const list = [...windows.data.windows].sort((a, b) => a.start - b.start);
  const times = list.map((w) => w.start);
  const metrics = [...new Set(list.flatMap((w) => Object.keys(w.metrics)))].sort();
  const latest = list[list.length - 1];
  const plain = metrics.filter((m) => !SIGNAL.includes(m));
  return (
    <>
      <Card title="Recent telemetry" id="telemetry">
        {latest === undefined ? (
          <p class="muted">No telemetry in the last 3 hours.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>metric (minute of {new Date(latest.start).toLocaleTimeString()})</th>
                  <th>mean</th>
                  <th>min</th>
                  <th>max</th>
                  <th>readings</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(latest.metrics).map(([name, m]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td>{round(m.mean ?? (m.sum ?? 0) / Math.max(1, m.count))}</td>
                    <td>{round(m.min)}</td>
                    <td>{round(m.max)}</td>
                    <td>{m.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {list.length > 0 && (
        <div class="grid">
          {plain.map((metric, i) => (
            <Card key={metric} title={`${metric} (1-minute windows)`}>
              <TimeChart
                title={`${metric} per minute`}
                times={times}
                yLabel={UNITS[metric] ?? ''}
                series={metricSeries(list, metric, COLORS[i % COLORS.length] as string)}
                height={160}
              />
            </Card>
          ))}
          <Card title="Signal: RSRP and RSRQ" id="signal">
            {SIGNAL.filter((m) => metrics.includes(m)).map((metric, i) => (
              <TimeChart
                key={metric}
                title={`${metric} per minute`}
                times={times}
                yLabel={UNITS[metric] ?? ''}
                series={metricSeries(list, metric, i === 0 ? '#0891b2' : '#9333ea')}
                height={140}
              />
            ))}
            {!metrics.some((m) => SIGNAL.includes(m)) && <p class="muted">No signal readings yet.</p>}
          </Card>
        </div>
      )}
    </>
  );
}

const round = (value: number) => Math.round(value * 100) / 100;
