import { DAYS_OF_WEEK, type MaintenanceWindow } from '../../../lib/protocol/rollouts.ts';

/**
 * Maintenance windows: the weekly times in which a rollout may queue executions. Outside them nothing new
 * is queued (AWS IoT Jobs moves the job back to SCHEDULED until the next window opens,
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html); executions already
 * queued carry on.
 *
 * Windows are in a fixed UTC offset, not an IANA time zone: the computation is exact with no time zone
 * database, and the window means the same instant every week. The price is daylight saving time: a window
 * at 02:00 +01:00 stays at 01:00 UTC in summer, so operators in such zones give the summer offset or a
 * window wide enough for both.
 */

/** Whether queuing is allowed now, and when that changes. Times are epoch seconds. */
export interface WindowState {
  readonly open: boolean;
  /** While open: when the open stretch ends (overlapping windows joined); absent with no windows at all. */
  readonly closesAt?: number;
  /** While closed: when the next window opens. */
  readonly opensAt?: number;
}

const DAY = 86_400;
/** 1970-01-01 was a Thursday. */
const EPOCH_WEEKDAY = 4;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** Every occurrence of the windows starting from one day before `now` to eight days after, sorted. */
function occurrences(windows: readonly MaintenanceWindow[], now: number): [number, number][] {
  const spans: [number, number][] = [];
  for (const window of windows) {
    const offset = window.utcOffsetMinutes * 60;
    const localDay = Math.floor((now + offset) / DAY);
    // Yesterday's window may still be open (windows run up to 1430 minutes, past midnight).
    for (let d = -1; d <= 8; d++) {
      const day = localDay + d;
      const weekday = DAYS_OF_WEEK[(((day + EPOCH_WEEKDAY) % 7) + 7) % 7];
      if (weekday === undefined || !window.daysOfWeek.includes(weekday)) continue;
      const start = day * DAY + minutesOf(window.startTime) * 60 - offset;
      spans.push([start, start + window.durationMinutes * 60]);
    }
  }
  return spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

/**
 * Whether `nowMs` falls in one of `windows`. No windows (undefined or empty) means always open.
 */
export function windowState(windows: readonly MaintenanceWindow[] | undefined, nowMs: number): WindowState {
  if (windows === undefined || windows.length === 0) return { open: true };
  const now = Math.floor(nowMs / 1000);
  const spans = occurrences(windows, now);
  let closesAt: number | undefined;
  for (const [start, end] of spans) {
    if (closesAt === undefined) {
      if (start <= now && now < end) closesAt = end;
    } else if (start <= closesAt) {
      // Overlapping or back-to-back windows make one open stretch.
      closesAt = Math.max(closesAt, end);
    }
  }
  if (closesAt !== undefined) return { open: true, closesAt };
  const next = spans.find(([start]) => start > now);
  return next === undefined ? { open: false } : { open: false, opensAt: next[0] };
}
