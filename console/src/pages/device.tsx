import { get } from '../api/client.ts';
import type { Alert, Device, Shadow } from '../api/types.ts';
import { Card, ErrorBox, Loading } from '../components/layout.tsx';
import { ago, clock } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { href } from '../router.ts';
import { DeviceTelemetry } from './device-charts.tsx';
import { Commands, JobHistory } from './device-history.tsx';
import { OnlineBadge } from './devices.tsx';
import { AlertTable } from './fleet.tsx';
import { DesiredEditor } from './shadow-editor.tsx';

function Fact(props: { label: string; value: string | undefined }) {
  return (
    <div class="fact">
      <dt>{props.label}</dt>
      <dd>{props.value ?? '–'}</dd>
    </div>
  );
}

/** One device: its registry record, shadow (with the desired-state editor), telemetry, alerts, jobs and commands. */
export function DevicePage(props: { deviceId: string }) {
  const id = encodeURIComponent(props.deviceId);
  const device = usePoll(() => get<Device>(`/devices/${id}`), `device:${id}`);
  const shadow = usePoll(() => get<Shadow>(`/things/${id}/shadow`), `shadow:${id}`, 3_000);
  const alerts = usePoll(
    () => get<{ alerts: Alert[] }>('/alerts', { deviceId: props.deviceId, limit: 50 }),
    `alerts:${id}`,
    10_000,
  );
  const d = device.data;
  const state = shadow.data?.state;
  const delta = state?.delta;
  const shadowMissing = (shadow.error as { status?: number } | undefined)?.status === 404;

  return (
    <>
      <p class="crumbs">
        <a href={href('devices')}>Devices</a> /
      </p>
      <h1>
        {props.deviceId} {d !== undefined && <OnlineBadge online={d.online} />}
      </h1>
      <ErrorBox error={device.error} what="device" />
      {d === undefined ? (
        device.error === undefined && <Loading />
      ) : (
        <dl class="facts">
          <Fact label="type" value={d.deviceType} />
          <Fact label="firmware" value={d.firmwareVersion} />
          <Fact label="model" value={d.modelVersion} />
          <Fact
            label="battery"
            value={d.battery?.percent === undefined ? undefined : `${d.battery.percent} %`}
          />
          <Fact
            label="RSRP / RSRQ"
            value={
              d.signal?.rsrp === undefined ? undefined : `${d.signal.rsrp} dBm / ${d.signal.rsrq ?? '–'} dB`
            }
          />
          <Fact label="radio" value={d.signal?.rat} />
          <Fact label="last seen" value={`${ago(d.lastSeen)} (${clock(d.lastSeen)})`} />
          <Fact label="groups" value={(d.groups ?? []).join(', ') || undefined} />
          <Fact
            label="attributes"
            value={
              Object.entries(d.attributes ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || undefined
            }
          />
          <Fact label="TLS" value={d.tlsVersion} />
        </dl>
      )}
      <Card title="Shadow" id="shadow">
        {shadowMissing ? (
          <p class="muted">No shadow yet.</p>
        ) : (
          <ErrorBox error={shadow.error} what="shadow" />
        )}
        <div class="shadow-columns">
          <div>
            <h3>Desired</h3>
            <pre id="shadow-desired">{JSON.stringify(state?.desired ?? {}, null, 2)}</pre>
          </div>
          <div>
            <h3>Reported</h3>
            <pre id="shadow-reported">{JSON.stringify(state?.reported ?? {}, null, 2)}</pre>
          </div>
          <div>
            <h3>
              Delta{' '}
              {delta === undefined ? '(none: the device has applied everything)' : '(waiting for the device)'}
            </h3>
            <pre id="shadow-delta" class={delta === undefined ? '' : 'pending'}>
              {JSON.stringify(delta ?? {}, null, 2)}
            </pre>
          </div>
        </div>
        <DesiredEditor thingName={props.deviceId} shadow={shadow.data} onSaved={shadow.refresh} />
      </Card>
      <DeviceTelemetry deviceId={props.deviceId} />
      <div class="grid">
        <Card title="Alerts" id="device-alerts">
          <ErrorBox error={alerts.error} what="alerts" />
          <AlertTable alerts={alerts.data?.alerts ?? []} device={false} />
        </Card>
        <Card title="Jobs (OTA)" id="jobs">
          <JobHistory deviceId={props.deviceId} />
        </Card>
        <Card title="Commands" id="commands">
          <Commands deviceId={props.deviceId} />
        </Card>
      </div>
    </>
  );
}
