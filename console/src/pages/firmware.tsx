import { get } from '../api/client.ts';
import { hasRoute } from '../api/features.ts';
import type { Firmware, FleetHealth } from '../api/types.ts';
import { Card, ErrorBox, Loading } from '../components/layout.tsx';
import { bytes, clock } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { FirmwareUpload } from './firmware-upload.tsx';

interface Model {
  readonly name?: string;
  readonly version: string;
  readonly deviceTypes?: readonly string[];
  readonly status?: string;
  readonly size?: number;
  readonly createdAt?: string | number;
}

function ImageTable(props: { images: ReadonlyArray<Firmware | Model>; id: string }) {
  if (props.images.length === 0) return <p class="muted">None yet.</p>;
  return (
    <div class="table-wrap">
      <table id={props.id}>
        <thead>
          <tr>
            <th>version</th>
            <th>device types</th>
            <th>status</th>
            <th>size</th>
            <th>registered</th>
            <th>notes</th>
          </tr>
        </thead>
        <tbody>
          {props.images.map((image) => (
            <tr key={`${(image as Model).name ?? ''}${image.version}`}>
              <td>
                {(image as Model).name === undefined ? '' : `${(image as Model).name} `}
                {image.version}
              </td>
              <td>{(image.deviceTypes ?? []).join(', ')}</td>
              <td>
                <span class={`badge ${image.status ?? ''}`}>{image.status ?? '–'}</span>
              </td>
              <td>{image.size === undefined ? '–' : bytes(image.size)}</td>
              <td>{clock(image.createdAt)}</td>
              <td>{(image as Firmware).releaseNotes ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Firmware images and edge models: what is registered, and an upload with a progress bar. */
export function FirmwarePage(props: { local: boolean }) {
  const firmware = usePoll(() => get<{ firmware: Firmware[] }>('/firmware'), 'firmware', 15_000);
  const health = usePoll(() => get<FleetHealth>('/fleet/health'), 'types', 60_000);
  const models = usePoll(
    () => (hasRoute('GET /models') ? get<{ models: Model[] }>('/models') : Promise.resolve(undefined)),
    'models',
    15_000,
  );
  const types = Object.keys(health.data?.byType ?? {});
  const list = [...(firmware.data?.firmware ?? [])].sort((a, b) =>
    b.version.localeCompare(a.version, undefined, { numeric: true }),
  );
  return (
    <>
      <h1>Firmware and models</h1>
      <div class="grid">
        <Card title="Firmware images">
          <ErrorBox error={firmware.error} what="firmware" />
          {firmware.data === undefined ? <Loading /> : <ImageTable images={list} id="firmware-list" />}
        </Card>
        <Card title="Upload firmware" id="upload">
          <FirmwareUpload
            deviceTypes={types.length > 0 ? types : ['tracker', 'env-sensor']}
            local={props.local}
            onDone={firmware.refresh}
          />
        </Card>
      </div>
      <Card title="Edge models">
        {hasRoute('GET /models') ? (
          <>
            <ErrorBox error={models.error} what="models" />
            <ImageTable images={models.data?.models ?? []} id="model-list" />
          </>
        ) : (
          <p class="muted">
            This platform has no model registry yet (issue 12): devices run the model built into their image.
          </p>
        )}
      </Card>
    </>
  );
}
