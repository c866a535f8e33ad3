import { useState } from 'preact/hooks';
import { call, get, post } from '../api/client.ts';
import { hasRoute } from '../api/features.ts';
import type { FleetHealth } from '../api/types.ts';
import { Card, ErrorBox, Loading } from '../components/layout.tsx';
import { ago } from '../format.ts';
import { useAction, usePoll } from '../hooks.ts';

/** A fault in force, as `GET /local/faults` lists it (lib/protocol/sim-faults.ts). */
interface FaultView {
  readonly faultId: string;
  readonly effect: { readonly kind: string } & Record<string, unknown>;
  readonly targets: Record<string, unknown>;
  readonly devices: readonly string[];
  readonly deviceCount: number;
  readonly startedAt: string;
  readonly endsAt?: string;
}

/** The faults the simulated fleet takes, each with its knobs and their defaults (lib/protocol/sim-faults.ts). */
const KINDS: ReadonlyArray<{
  kind: string;
  label: string;
  knobs: ReadonlyArray<{ name: string; label: string; value: number | string; options?: string[] }>;
}> = [
  { kind: 'offline', label: 'Take devices offline', knobs: [] },
  {
    kind: 'weak-signal',
    label: 'Degrade signal',
    knobs: [
      { name: 'rsrpDbm', label: 'RSRP (dBm)', value: -125 },
      { name: 'rsrqDb', label: 'RSRQ (dB)', value: -18 },
    ],
  },
  {
    kind: 'drain-battery',
    label: 'Drain batteries',
    knobs: [
      { name: 'toPercent', label: 'down to (%)', value: 5 },
      { name: 'overSeconds', label: 'over (s)', value: 60 },
    ],
  },
  {
    kind: 'overheat',
    label: 'Overheat a sensor',
    knobs: [{ name: 'celsius', label: 'hotter by (°C)', value: 40 }],
  },
  {
    kind: 'firmware-failure',
    label: 'Make firmware fail',
    knobs: [
      { name: 'version', label: 'version (empty: any)', value: '' },
      { name: 'failAt', label: 'fails at', value: 'install', options: ['install', 'health-check'] },
    ],
  },
];

/** Fault injection into the simulated fleet (local platform only), so every view has something real to show. */
export function FaultsPage() {
  if (!hasRoute('POST /local/faults'))
    return (
      <>
        <h1>Faults</h1>
        <p class="muted">
          Fault injection is a feature of the local platform's simulated fleet; this API has none.
        </p>
      </>
    );
  return <FaultPanel />;
}

function FaultPanel() {
  const faults = usePoll(() => get<{ faults: FaultView[] }>('/local/faults'), 'faults');
  const health = usePoll(() => get<FleetHealth>('/fleet/health'), 'types', 60_000);
  const [kind, setKind] = useState('offline');
  const [knobs, setKnobs] = useState<Record<string, string>>({});
  const [target, setTarget] = useState({
    deviceTypes: [] as string[],
    groups: '',
    things: '',
    percentage: '10',
  });
  const [duration, setDuration] = useState('');
  const spec = KINDS.find((k) => k.kind === kind) ?? (KINDS[0] as (typeof KINDS)[number]);

  const inject = useAction(async () => {
    const effect: Record<string, unknown> = { kind };
    for (const knob of spec.knobs) {
      const text = knobs[`${kind}.${knob.name}`] ?? String(knob.value);
      if (text === '') continue;
      effect[knob.name] = typeof knob.value === 'number' ? Number(text) : text;
    }
    const split = (text: string) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    const targets = {
      ...(target.deviceTypes.length > 0 ? { deviceTypes: target.deviceTypes } : {}),
      ...(split(target.groups).length > 0 ? { groups: split(target.groups) } : {}),
      ...(split(target.things).length > 0 ? { things: split(target.things) } : {}),
      ...(target.percentage === '' ? {} : { percentage: Number(target.percentage) }),
    };
    await post('/local/faults', {
      targets,
      effect,
      ...(duration === '' ? {} : { durationS: Number(duration) }),
    });
    faults.refresh();
  });
  const clear = useAction(async (faultId: string) => {
    await call('DELETE', `/local/faults/${encodeURIComponent(faultId)}`);
    faults.refresh();
  });

  return (
    <>
      <h1>Faults</h1>
      <div class="grid">
        <Card title="Inject a fault">
          <form
            class="fault-form"
            onSubmit={(e) => {
              e.preventDefault();
              void inject.run();
            }}
          >
            <label>
              Fault
              <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
                {KINDS.map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {k.label}
                  </option>
                ))}
              </select>
            </label>
            {spec.knobs.map((knob) => {
              const key = `${kind}.${knob.name}`;
              const value = knobs[key] ?? String(knob.value);
              const change = (v: string) => setKnobs({ ...knobs, [key]: v });
              return knob.options === undefined ? (
                <label key={key}>
                  {knob.label}
                  <input name={knob.name} value={value} onInput={(e) => change(e.currentTarget.value)} />
                </label>
              ) : (
                <label key={key}>
                  {knob.label}
                  <select name={knob.name} value={value} onChange={(e) => change(e.currentTarget.value)}>
                    {knob.options.map((o) => (
                      <option key={o}>{o}</option>
                    ))}
                  </select>
                </label>
              );
            })}
            <fieldset>
              <legend>Which devices</legend>
              {Object.keys(health.data?.byType ?? {}).map((type) => (
                <label key={type} class="inline">
                  <input
                    type="checkbox"
                    checked={target.deviceTypes.includes(type)}
                    onChange={(e) =>
                      setTarget({
                        ...target,
                        deviceTypes: e.currentTarget.checked
                          ? [...target.deviceTypes, type]
                          : target.deviceTypes.filter((t) => t !== type),
                      })
                    }
                  />
                  {type}
                </label>
              ))}
              <label>
                Groups (comma-separated)
                <input
                  name="groups"
                  value={target.groups}
                  onInput={(e) => setTarget({ ...target, groups: e.currentTarget.value })}
                />
              </label>
              <label>
                Devices (comma-separated ids)
                <input
                  name="things"
                  value={target.things}
                  onInput={(e) => setTarget({ ...target, things: e.currentTarget.value })}
                />
              </label>
              <label>
                Percentage of those
                <input
                  name="percentage"
                  type="number"
                  min={0}
                  max={100}
                  value={target.percentage}
                  onInput={(e) => setTarget({ ...target, percentage: e.currentTarget.value })}
                />
              </label>
            </fieldset>
            <label>
              Clears itself after (s, empty: until cleared)
              <input
                name="durationS"
                type="number"
                min={1}
                value={duration}
                onInput={(e) => setDuration(e.currentTarget.value)}
              />
            </label>
            <ErrorBox error={inject.error} what="fault" />
            <div class="actions">
              <button type="submit" disabled={inject.busy}>
                Inject
              </button>
            </div>
          </form>
        </Card>
        <Card title="Faults in force" id="faults-in-force">
          <ErrorBox error={faults.error} what="faults" />
          <ErrorBox error={clear.error} what="clear" />
          {faults.data === undefined ? (
            <Loading />
          ) : faults.data.faults.length === 0 ? (
            <p class="muted">None: the simulated fleet is healthy.</p>
          ) : (
            <ul class="faults">
              {faults.data.faults.map((f) => (
                <li key={f.faultId}>
                  <strong>{f.effect.kind}</strong> on {f.deviceCount} devices
                  {f.devices.length > 0 && (
                    <span class="muted">
                      {' '}
                      ({f.devices.slice(0, 5).join(', ')}
                      {f.deviceCount > 5 ? ', …' : ''})
                    </span>
                  )}
                  , since {ago(f.startedAt)}
                  {f.endsAt !== undefined && `, until ${new Date(f.endsAt).toLocaleTimeString()}`}{' '}
                  <button type="button" class="secondary" onClick={() => void clear.run(f.faultId)}>
                    Clear
                  </button>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
