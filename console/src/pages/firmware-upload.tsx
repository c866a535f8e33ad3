import { useState } from 'preact/hooks';
import { post } from '../api/client.ts';
import { sha256Hex, uploadWithProgress } from '../api/upload.ts';
import { Progress } from '../components/bars.tsx';
import { ErrorBox } from '../components/layout.tsx';
import { bytes } from '../format.ts';
import { useAction } from '../hooks.ts';

type UploadPlan =
  | { readonly method: 'PUT'; readonly url: string }
  | {
      readonly method: 'MULTIPART';
      readonly parts: ReadonlyArray<{ partNumber: number; url: string; size: number }>;
    };

interface Step {
  readonly label: string;
  readonly sent: number;
  readonly total: number;
}

/**
 * A firmware image for the local platform's simulated devices: a manifest line saying how the image
 * behaves (`lib/local/sim/firmware-behaviour.ts`), then padding. A real image is any other file.
 */
export function simulatedImage(manifest: Record<string, unknown>, size = 256 * 1024): File {
  const line = new TextEncoder().encode(`${JSON.stringify({ fleetkitSimFirmware: 1, ...manifest })}\n`);
  const image = new Uint8Array(size);
  image.set(line);
  for (let at = line.length; at < size; at += 65_536)
    crypto.getRandomValues(image.subarray(at, Math.min(size, at + 65_536)));
  return new File([image], `sim-${String(manifest.version)}.bin`, { type: 'application/octet-stream' });
}

/**
 * Uploads an image as the API asks: register it (size and SHA-256), PUT it to the presigned URL — or its
 * parts, in order — with a progress bar, then complete it (the platform hashes what it stored, checks it
 * against the registration and signs it).
 */
export function FirmwareUpload(props: {
  deviceTypes: readonly string[];
  local: boolean;
  onDone: () => void;
}) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [version, setVersion] = useState('');
  const [types, setTypes] = useState<string[]>([]);
  const [notes, setNotes] = useState('');
  const [step, setStep] = useState<Step | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [sim, setSim] = useState({
    installFailRate: 0,
    healthCheck: 'pass',
    temperatureOffset: 0,
    anomalyScore: 0,
  });

  const upload = useAction(async () => {
    setDone(undefined);
    const image =
      file ??
      (props.local
        ? simulatedImage({
            version,
            installFailRate: sim.installFailRate,
            healthCheck: sim.healthCheck,
            telemetry: {
              ...(sim.temperatureOffset === 0 ? {} : { temperatureOffset: sim.temperatureOffset }),
              ...(sim.anomalyScore === 0 ? {} : { anomalyScore: sim.anomalyScore }),
            },
          })
        : undefined);
    if (image === undefined) throw new Error('choose an image file');
    setStep({ label: 'hashing', sent: 0, total: image.size });
    const sha256 = await sha256Hex(image);
    setStep({ label: 'hashing', sent: image.size, total: image.size });
    const registered = await post<{ upload: UploadPlan }>('/firmware', {
      version,
      deviceTypes: types,
      size: image.size,
      sha256,
      ...(notes === '' ? {} : { releaseNotes: notes }),
    });
    const plan = registered.upload;
    let parts: { partNumber: number; etag: string }[] | undefined;
    if (plan.method === 'PUT') {
      await uploadWithProgress(plan.url, image, (sent, total) =>
        setStep({ label: 'uploading', sent, total }),
      );
    } else {
      parts = [];
      let offset = 0;
      for (const part of plan.parts) {
        const start = offset;
        const etag = await uploadWithProgress(part.url, image.slice(start, start + part.size), (sent) =>
          setStep({
            label: `uploading part ${part.partNumber} of ${plan.parts.length}`,
            sent: start + sent,
            total: image.size,
          }),
        );
        parts.push({ partNumber: part.partNumber, etag });
        offset += part.size;
      }
    }
    setStep({ label: 'verifying and signing', sent: image.size, total: image.size });
    const completed = await post<{ version: string; status: string }>(
      `/firmware/${encodeURIComponent(version)}/complete`,
      parts === undefined ? {} : { parts },
    );
    setStep(undefined);
    setDone(`firmware ${completed.version} is ${completed.status}`);
    props.onDone();
  });

  return (
    <form
      class="upload"
      onSubmit={(e) => {
        e.preventDefault();
        void upload.run();
      }}
    >
      <label>
        Version
        <input
          name="version"
          required
          placeholder="1.1.0"
          value={version}
          onInput={(e) => setVersion(e.currentTarget.value)}
        />
      </label>
      <fieldset>
        <legend>Device types</legend>
        {props.deviceTypes.map((type) => (
          <label key={type} class="inline">
            <input
              type="checkbox"
              name="deviceTypes"
              value={type}
              checked={types.includes(type)}
              onChange={(e) =>
                setTypes(e.currentTarget.checked ? [...types, type] : types.filter((t) => t !== type))
              }
            />
            {type}
          </label>
        ))}
      </fieldset>
      <label>
        Image file {props.local && '(or leave empty to make a simulated image below)'}
        <input type="file" name="image" onChange={(e) => setFile(e.currentTarget.files?.[0])} />
      </label>
      {props.local && file === undefined && (
        <fieldset class="sim-image">
          <legend>Simulated image: how it behaves on the simulated devices</legend>
          <label>
            Install fails on (share 0–1)
            <input
              type="number"
              name="installFailRate"
              min={0}
              max={1}
              step={0.05}
              value={sim.installFailRate}
              onInput={(e) => setSim({ ...sim, installFailRate: Number(e.currentTarget.value) })}
            />
          </label>
          <label>
            Health check after reboot
            <select
              name="healthCheck"
              value={sim.healthCheck}
              onChange={(e) => setSim({ ...sim, healthCheck: e.currentTarget.value })}
            >
              <option value="pass">passes</option>
              <option value="fail">fails (the device rolls back)</option>
              <option value="crash">crashes on the trial boot</option>
            </select>
          </label>
          <label>
            Temperature offset (°C)
            <input
              type="number"
              name="temperatureOffset"
              value={sim.temperatureOffset}
              onInput={(e) => setSim({ ...sim, temperatureOffset: Number(e.currentTarget.value) })}
            />
          </label>
          <label>
            Anomaly score sent (0 = none)
            <input
              type="number"
              name="anomalyScore"
              min={0}
              max={1}
              step={0.05}
              value={sim.anomalyScore}
              onInput={(e) => setSim({ ...sim, anomalyScore: Number(e.currentTarget.value) })}
            />
          </label>
        </fieldset>
      )}
      <label>
        Release notes
        <input name="notes" value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button type="submit" disabled={upload.busy || version === '' || types.length === 0}>
          {upload.busy ? 'Uploading…' : 'Upload'}
        </button>
        {file !== undefined && <span class="muted">{bytes(file.size)}</span>}
      </div>
      {step !== undefined && (
        <Progress
          value={step.sent}
          max={step.total}
          label={`${step.label} ${bytes(step.sent)} of ${bytes(step.total)}`}
        />
      )}
      {done !== undefined && (
        <p class="ok" id="upload-done">
          {done}
        </p>
      )}
      <ErrorBox error={upload.error} what="upload" />
    </form>
  );
}
