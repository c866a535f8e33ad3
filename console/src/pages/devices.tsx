import { useState } from 'preact/hooks';
import { get } from '../api/client.ts';
import type { Device } from '../api/types.ts';
import { ErrorBox, Loading } from '../components/layout.tsx';
import { ago } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { href, type Route } from '../router.ts';

/** The list reads the registry page by page up to this many devices, and says so when there are more. */
export const MAX_LISTED = 5_000;

/** Every device of the registry (of one type, when given), up to {@link MAX_LISTED}. */
export async function loadDevices(type?: string): Promise<{ devices: Device[]; more: boolean }> {
  const devices: Device[] = [];
  let nextToken: string | undefined;
  do {
    const page = await get<{ devices: Device[]; nextToken?: string }>('/devices', {
      type,
      limit: 100,
      nextToken,
    });
    devices.push(...page.devices);
    nextToken = page.nextToken;
  } while (nextToken !== undefined && devices.length < MAX_LISTED);
  return { devices, more: nextToken !== undefined };
}

interface Filters {
  readonly q: string;
  readonly type: string;
  readonly group: string;
  readonly firmware: string;
  readonly online: string;
}

const FILTERS: ReadonlyArray<keyof Filters> = ['q', 'type', 'group', 'firmware', 'online'];

function matches(device: Device, f: Filters): boolean {
  if (f.q !== '' && !device.deviceId.toLowerCase().includes(f.q.toLowerCase())) return false;
  if (f.type !== '' && device.deviceType !== f.type) return false;
  if (f.group !== '' && !(device.groups ?? []).includes(f.group)) return false;
  if (f.firmware !== '' && device.firmwareVersion !== f.firmware) return false;
  if (f.online === 'online' && device.online !== true) return false;
  if (f.online === 'offline' && device.online !== false) return false;
  return true;
}

const distinct = (values: Iterable<string | undefined>) =>
  [...new Set([...values].filter((v): v is string => v !== undefined && v !== ''))].sort();

/** Devices: a search box and filters (type, group, firmware, online), kept in the address so a view can be shared. */
export function DevicesPage(props: { route: Route }) {
  const [filters, setFilters] = useState<Filters>(() => {
    const q = props.route.query;
    return {
      q: q.get('q') ?? '',
      type: q.get('type') ?? '',
      group: q.get('group') ?? '',
      firmware: q.get('firmware') ?? '',
      online: q.get('online') ?? '',
    };
  });
  const list = usePoll(() => loadDevices(), 'devices', 15_000);
  const all = list.data?.devices ?? [];

  const set = (name: keyof Filters, value: string) => {
    const next = { ...filters, [name]: value };
    setFilters(next);
    const query = new URLSearchParams();
    for (const key of FILTERS) if (next[key] !== '') query.set(key, next[key]);
    history.replaceState(null, '', `#/devices${query.size > 0 ? `?${query}` : ''}`);
  };
  const select = (name: keyof Filters, label: string, options: readonly string[]) => (
    <label>
      {label}
      <select value={filters[name]} onChange={(e) => set(name, e.currentTarget.value)} name={name}>
        <option value="">any</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </label>
  );
  const shown = all.filter((device) => matches(device, filters));

  return (
    <>
      <h1>Devices</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="search and filter devices">
        <label>
          Search
          <input
            type="search"
            name="q"
            placeholder="device id"
            value={filters.q}
            onInput={(e) => set('q', e.currentTarget.value)}
          />
        </label>
        {select('type', 'Type', distinct(all.map((d) => d.deviceType)))}
        {select('group', 'Group', distinct(all.flatMap((d) => d.groups ?? [])))}
        {select('firmware', 'Firmware', distinct(all.map((d) => d.firmwareVersion)))}
        {select('online', 'State', ['online', 'offline'])}
      </form>
      <ErrorBox error={list.error} what="devices" />
      {list.data === undefined ? (
        <Loading />
      ) : (
        <>
          <p class="muted" id="device-count">
            {shown.length} of {all.length} devices
            {list.data.more ? ` (the first ${MAX_LISTED} of the registry)` : ''}
          </p>
          <div class="table-wrap">
            <table class="devices">
              <thead>
                <tr>
                  <th>device</th>
                  <th>type</th>
                  <th>firmware</th>
                  <th>state</th>
                  <th>battery</th>
                  <th>RSRP</th>
                  <th>last seen</th>
                  <th>groups</th>
                </tr>
              </thead>
              <tbody>
                {shown.slice(0, 500).map((device) => (
                  <tr key={device.deviceId}>
                    <td>
                      <a href={href(`devices/${encodeURIComponent(device.deviceId)}`)}>{device.deviceId}</a>
                    </td>
                    <td>{device.deviceType}</td>
                    <td>{device.firmwareVersion ?? '–'}</td>
                    <td>
                      <OnlineBadge online={device.online} />
                    </td>
                    <td>{device.battery?.percent === undefined ? '–' : `${device.battery.percent} %`}</td>
                    <td>{device.signal?.rsrp === undefined ? '–' : `${device.signal.rsrp} dBm`}</td>
                    <td>{ago(device.lastSeen)}</td>
                    <td>{(device.groups ?? []).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shown.length > 500 && (
            <p class="muted">The first 500 are shown; narrow the search to see others.</p>
          )}
        </>
      )}
    </>
  );
}

export function OnlineBadge(props: { online: boolean | undefined }) {
  if (props.online === undefined) return <span class="badge">never seen</span>;
  return <span class={`badge ${props.online ? 'good' : 'bad'}`}>{props.online ? 'online' : 'offline'}</span>;
}
