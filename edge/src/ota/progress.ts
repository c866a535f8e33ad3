/**
 * A download's progress callback that reports in steps of `stepPercent` (so a job's `statusDetails`
 * is updated a handful of times, not per chunk), never twice for one step, and 100 % only when every
 * byte is there.
 */
export function steppedProgress(
  stepPercent: number,
  report: (percent: number) => Promise<void>,
): (bytes: number, size: number) => Promise<void> {
  let reported = -1;
  return async (bytes, size) => {
    const percent = Math.floor((Math.floor((bytes * 100) / size) / stepPercent) * stepPercent);
    if (percent <= reported || (percent === 100 && bytes < size)) return;
    reported = percent;
    await report(percent);
  };
}
