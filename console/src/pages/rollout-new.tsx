import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api/client.ts';
import type { Firmware, FleetHealth, RolloutPreview } from '../api/types.ts';
import { Card, ErrorBox } from '../components/layout.tsx';
import { useAction, usePoll } from '../hooks.ts';
import { href } from '../router.ts';
import { EMPTY_FORM, newestVersion, type RolloutForm, rolloutRequestOf, SKIP_WORDS } from './rollout-form.ts';
import { canStart } from './rollout-planning.ts';

/** The plan the API would make: devices per wave, the control cohort, and who is skipped and why. */
function PreviewTable(props: { preview: RolloutPreview }) {
  const p = props.preview;
  const skipped = Object.entries(p.skipped).filter(([, n]) => n > 0);
  return (
    <div id="preview">
      <p>
        <strong>{p.targeted}</strong> devices targeted, <strong>{p.eligible}</strong> eligible
        {p.control > 0 && (
          <>
            , <strong>{p.control}</strong> held back as the control cohort
          </>
        )}
        .
      </p>
      <table>
        <thead>
          <tr>
            <th>wave</th>
            <th>devices</th>
          </tr>
        </thead>
        <tbody>
          {p.waves.map((w) => (
            <tr key={w.wave}>
              <td>
                {w.control === true ? `${w.wave + 1} (control cohort, after the gate passes)` : w.wave + 1}
              </td>
              <td>{w.planned}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {skipped.length > 0 && (
        <>
          <h3>Skipped</h3>
          <ul>
            {skipped.map(([reason, n]) => (
              <li key={reason}>
                {n}: {SKIP_WORDS[reason] ?? reason}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** A new rollout: target, waves, gate, pacing and health gate, with a live preview of the plan. */
export function NewRolloutPage() {
  const [form, setForm] = useState<RolloutForm>(EMPTY_FORM);
  const [preview, setPreview] = useState<RolloutPreview | undefined>(undefined);
  const [previewError, setPreviewError] = useState<Error | undefined>(undefined);
  const firmware = usePoll(
    () => get<{ firmware: Firmware[] }>('/firmware', { status: 'available' }),
    'fw-available',
    30_000,
  );
  const health = usePoll(() => get<FleetHealth>('/fleet/health'), 'types', 60_000);
  const available = (firmware.data?.firmware ?? []).filter((f) => f.status === 'available');
  const types = Object.keys(health.data?.byType ?? {});

  useEffect(() => {
    const newest = newestVersion(available.map((f) => f.version));
    if (form.firmwareVersion === '' && newest !== undefined)
      setForm((f) => ({ ...f, firmwareVersion: newest }));
  }, [available.length]);

  // The preview follows the form, a moment after the last keystroke.
  const request = rolloutRequestOf(form);
  const requestKey = JSON.stringify(request);
  useEffect(() => {
    if (form.firmwareVersion === '') return;
    const timer = setTimeout(() => {
      post<RolloutPreview>('/rollouts/preview', request).then(
        (answer) => {
          setPreview(answer);
          setPreviewError(undefined);
        },
        (error: Error) => {
          setPreview(undefined);
          setPreviewError(error);
        },
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [requestKey]);

  // Accepted (202) in PLANNING: the rollout's page follows its planning, then its waves.
  const start = useAction(async () => {
    const created = await post<{ rolloutId: string }>('/rollouts', request);
    location.hash = href(`rollouts/${encodeURIComponent(created.rolloutId)}`);
  });

  const field = (name: keyof RolloutForm, label: string, attrs: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input
        name={name}
        value={form[name] as string}
        onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })}
        {...attrs}
      />
    </label>
  );

  return (
    <>
      <p class="crumbs">
        <a href={href('rollouts')}>Rollouts</a> /
      </p>
      <h1>New rollout</h1>
      <div class="grid wide-left">
        <form
          class="card rollout-form"
          onSubmit={(e) => {
            e.preventDefault();
            void start.run();
          }}
        >
          <h2>What and where</h2>
          <label>
            Firmware
            <select
              name="firmwareVersion"
              value={form.firmwareVersion}
              onChange={(e) => setForm({ ...form, firmwareVersion: e.currentTarget.value })}
            >
              {available.length === 0 && <option value="">no available firmware: upload one first</option>}
              {available.map((f) => (
                <option key={f.version} value={f.version}>
                  {f.version} ({f.deviceTypes.join(', ')})
                </option>
              ))}
            </select>
          </label>
          {field('rolloutId', 'Rollout id (optional)', { placeholder: 'made for you when empty' })}
          {field('description', 'Description (optional)')}
          <fieldset>
            <legend>Device types (none: every type)</legend>
            {types.map((type) => (
              <label key={type} class="inline">
                <input
                  type="checkbox"
                  checked={form.deviceTypes.includes(type)}
                  onChange={(e) =>
                    setForm({
                      ...form,
                      deviceTypes: e.currentTarget.checked
                        ? [...form.deviceTypes, type]
                        : form.deviceTypes.filter((t) => t !== type),
                    })
                  }
                />
                {type}
              </label>
            ))}
          </fieldset>
          {field('groups', 'Thing groups (comma-separated)')}
          {field('things', 'Devices (comma-separated ids)')}
          {field('percentage', 'Percentage of those (stable sample)', {
            type: 'number',
            min: 0,
            max: 100,
            step: 'any',
          })}
          <h2>Waves and gate</h2>
          {field('sizes', 'Wave sizes (cumulative %, ending at 100)')}
          {field('successPercentage', 'Next wave when this % of a wave succeeded', {
            type: 'number',
            min: 0,
            max: 100,
          })}
          {field('soakMinutes', 'then soak for (minutes)', { type: 'number', min: 0 })}
          {field('maximumPerMinute', 'At most per minute', { type: 'number', min: 1, max: 1000 })}
          <h2>Pacing</h2>
          {field('minRsrpDbm', 'Wait while RSRP is below (dBm)', { type: 'number', min: -156, max: -31 })}
          {field('minBatteryPercent', 'Wait while battery is below (%)', {
            type: 'number',
            min: 0,
            max: 100,
          })}
          <h2>Health gate</h2>
          <label class="inline">
            <input
              type="checkbox"
              name="gate"
              checked={form.gate}
              onChange={(e) => setForm({ ...form, gate: e.currentTarget.checked })}
            />
            Compare updated devices with a control cohort, roll back if they do worse
          </label>
          {form.gate && (
            <>
              <label>
                Metric
                <select
                  name="gateMetric"
                  value={form.gateMetric}
                  onChange={(e) => setForm({ ...form, gateMetric: e.currentTarget.value })}
                >
                  <option value="anomalyRate">anomalies per device-hour</option>
                  <option value="alertRate">alerts per device-hour</option>
                  <option value="rebootRate">reboots per device-hour</option>
                  <option value="offlineRate">offline events per device-hour</option>
                </select>
              </label>
              {field('maxWorseningRelative', 'Worse by at most (fraction of control, 0.2 = 20 %)', {
                type: 'number',
                min: 0,
                step: 'any',
              })}
              {field('windowMinutes', 'Over the last (minutes)', { type: 'number', min: 5 })}
              {field('controlPercentage', 'Control cohort (% held back)', {
                type: 'number',
                min: 0,
                max: 50,
                step: 'any',
              })}
              {field('minDeviceHours', 'Device-hours each cohort needs first (empty: default)', {
                type: 'number',
                min: 0,
                step: 'any',
              })}
            </>
          )}
          <ErrorBox error={start.error} what="start" />
          <div class="actions">
            <button
              type="submit"
              id="start-rollout"
              disabled={start.busy || !canStart(preview, previewError)}
            >
              {start.busy ? 'Starting…' : 'Start rollout'}
            </button>
          </div>
        </form>
        <Card title="Preview" class="sticky">
          <ErrorBox error={firmware.error} what="firmware" />
          {previewError !== undefined ? (
            <ErrorBox error={previewError} what="the plan" />
          ) : preview === undefined ? (
            <p class="muted">The plan appears here as you fill the form.</p>
          ) : (
            <PreviewTable preview={preview} />
          )}
        </Card>
      </div>
    </>
  );
}
