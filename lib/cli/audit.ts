import type { ApiClient } from './api.ts';

/** The help lines of the audit command. */
export const AUDIT_HELP = `Audit
  audit [--check <CHECK>] [--device <id>] [--all]
                                       the findings of the scheduled fleet audit, each with its fix
                                       (--all: every page; the checks are listed with their ids)`;

interface Report {
  readonly state?: { lastPassCompletedAt?: number; lastRunAt?: number; devicesThisPass?: number };
  readonly checks: ReadonlyArray<{ id: string; severity: string; description: string }>;
  readonly findings: ReadonlyArray<{
    deviceId: string;
    check: string;
    severity: string;
    message: string;
    fix: string;
  }>;
  readonly nextToken?: string;
}

const when = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString());

/**
 * `audit`: `GET /audit`, one page (or every page with `all`), printed as one block per finding — device,
 * check and severity, what is wrong, and the fix.
 *
 * @returns the API's answer (findings of every page read), and the text for people
 */
export async function auditCommand(
  api: ApiClient,
  options: {
    readonly check?: string | undefined;
    readonly device?: string | undefined;
    readonly all?: boolean;
  },
): Promise<{ answer: Report; human: string }> {
  const base = new URLSearchParams();
  if (options.check !== undefined) base.set('check', options.check);
  if (options.device !== undefined) base.set('deviceId', options.device);
  let report: Report | undefined;
  let nextToken: string | undefined;
  do {
    const params = new URLSearchParams(base);
    if (nextToken !== undefined) params.set('nextToken', nextToken);
    const query = params.toString();
    const page = (await api.call('GET', `audit${query === '' ? '' : `?${query}`}`)) as Report;
    report = report === undefined ? page : { ...page, findings: [...report.findings, ...page.findings] };
    nextToken = page.nextToken;
  } while (options.all === true && nextToken !== undefined);
  const lines = [
    `audit: last pass completed ${when(report.state?.lastPassCompletedAt)}, last run ${when(report.state?.lastRunAt)}`,
    ...report.findings.flatMap((f) => [
      `${f.severity.toUpperCase()} ${f.check} ${f.deviceId}: ${f.message}`,
      `  fix: ${f.fix}`,
    ]),
    report.findings.length === 0 ? 'no findings' : `${report.findings.length} finding(s)`,
    ...(report.nextToken === undefined || options.all === true ? [] : ['more: --all']),
  ];
  return { answer: report, human: `${lines.join('\n')}\n` };
}
