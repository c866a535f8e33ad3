import { useState } from 'preact/hooks';
import { get, post } from '../api/client.ts';
import { hasRoute } from '../api/features.ts';
import { ErrorBox } from '../components/layout.tsx';
import { ago } from '../format.ts';
import { useAction, usePoll } from '../hooks.ts';

interface JobExecution {
  readonly jobId: string;
  readonly status: string;
  readonly queuedAt?: number;
  readonly lastUpdatedAt?: number;
  readonly statusDetails?: Readonly<Record<string, string>>;
  readonly versionNumber?: number;
}

/** The device's OTA job executions, newest first (`GET /devices/{id}/jobs`). */
export function JobHistory(props: { deviceId: string }) {
  const jobs = usePoll(
    () => get<{ executions: JobExecution[] }>(`/devices/${encodeURIComponent(props.deviceId)}/jobs`),
    `jobs:${props.deviceId}`,
    10_000,
  );
  if (jobs.error !== undefined) return <ErrorBox error={jobs.error} what="jobs" />;
  const list = [...(jobs.data?.executions ?? [])].sort(
    (a, b) => (b.lastUpdatedAt ?? 0) - (a.lastUpdatedAt ?? 0),
  );
  if (list.length === 0) return <p class="muted">No jobs.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>job</th>
            <th>status</th>
            <th>updated</th>
            <th>details</th>
          </tr>
        </thead>
        <tbody>
          {list.map((job) => (
            <tr key={job.jobId}>
              <td>{job.jobId}</td>
              <td>
                <span class={`badge ${job.status}`}>{job.status}</span>
              </td>
              <td>
                {job.lastUpdatedAt === undefined
                  ? ''
                  : ago(job.lastUpdatedAt * (job.lastUpdatedAt < 1e12 ? 1000 : 1))}
              </td>
              <td>
                {Object.entries(job.statusDetails ?? {})
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A command of the catalog, with its parameters (issue 11's built-in commands). */
interface CommandSpec {
  readonly name: string;
  readonly label: string;
  readonly parameters?: ReadonlyArray<{
    readonly name: string;
    readonly label: string;
    readonly value: number;
  }>;
}

/** The built-in commands every device type has (issue 11); a type's catalog may add its own. */
export const BUILT_IN_COMMANDS: readonly CommandSpec[] = [
  { name: 'ping', label: 'Ping' },
  { name: 'sample-now', label: 'Sample now' },
  { name: 'diagnostics', label: 'Diagnostics' },
  {
    name: 'set-interval',
    label: 'Set interval',
    parameters: [
      // The catalog's floor is 30 s (lib/protocol/command-catalog.ts); 60 is a value it accepts.
      { name: 'seconds', label: 'seconds', value: 60 },
      { name: 'for', label: 'for (s)', value: 600 },
    ],
  },
  { name: 'reboot', label: 'Reboot' },
];

interface CommandExecution {
  readonly executionId: string;
  readonly name: string;
  readonly status: string;
  /** When the command was issued, epoch ms (the execution's `createdAt`, lambdas/domain/commands). */
  readonly createdAt?: number;
  readonly expectedDeliveryAt?: string;
  readonly result?: unknown;
  readonly reason?: string;
}

/**
 * A button per command, and the device's command history (`POST` / `GET /devices/{id}/commands`). A
 * platform without the commands API yet says so instead of calling it.
 */
export function Commands(props: { deviceId: string }) {
  if (!hasRoute('POST /devices/{id}/commands'))
    return <p class="muted">This platform has no commands API yet (cloud-to-device commands, issue 11).</p>;
  return <CommandPanel deviceId={props.deviceId} />;
}

function CommandPanel(props: { deviceId: string }) {
  const path = `/devices/${encodeURIComponent(props.deviceId)}/commands`;
  const history = usePoll(
    () => get<{ executions: CommandExecution[] }>(path),
    `commands:${props.deviceId}`,
    10_000,
  );
  const [params, setParams] = useState<Record<string, Record<string, number>>>({});
  const [answer, setAnswer] = useState<string | undefined>(undefined);
  const send = useAction(async (command: CommandSpec) => {
    setAnswer(undefined);
    const parameters = Object.fromEntries(
      (command.parameters ?? []).map((p) => [p.name, params[command.name]?.[p.name] ?? p.value]),
    );
    const result = await post<CommandExecution>(`${path}?wait=5`, { name: command.name, parameters });
    setAnswer(
      `${command.name}: ${result.status ?? 'sent'}${result.result === undefined ? '' : ` ${JSON.stringify(result.result)}`}`,
    );
    history.refresh();
  });
  return (
    <>
      <div class="command-buttons">
        {BUILT_IN_COMMANDS.map((command) => (
          <div class="command" key={command.name}>
            {(command.parameters ?? []).map((p) => (
              <label key={p.name}>
                {p.label}
                <input
                  type="number"
                  value={params[command.name]?.[p.name] ?? p.value}
                  onInput={(e) =>
                    setParams({
                      ...params,
                      [command.name]: { ...params[command.name], [p.name]: Number(e.currentTarget.value) },
                    })
                  }
                />
              </label>
            ))}
            <button type="button" disabled={send.busy} onClick={() => void send.run(command)}>
              {command.label}
            </button>
          </div>
        ))}
      </div>
      {answer !== undefined && <p class="ok">{answer}</p>}
      <ErrorBox error={send.error} what="command" />
      <ErrorBox error={history.error} what="command history" />
      {(history.data?.executions ?? []).length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>command</th>
                <th>status</th>
                <th>issued</th>
                <th>result</th>
              </tr>
            </thead>
            <tbody>
              {(history.data?.executions ?? []).map((c) => (
                <tr key={c.executionId}>
                  <td>{c.name}</td>
                  <td>
                    <span class={`badge ${c.status}`}>{c.status}</span>
                    {c.expectedDeliveryAt !== undefined && ` (expected ${ago(c.expectedDeliveryAt)})`}
                  </td>
                  <td>{ago(c.createdAt)}</td>
                  <td>{c.reason ?? (c.result === undefined ? '' : JSON.stringify(c.result))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
