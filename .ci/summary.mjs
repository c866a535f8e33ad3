// Prints "N passed, N failed" from vitest's JSON report. A missing report, a test file that failed to
// load, or a run with no test at all counts as failed, so a run that executed nothing cannot look green.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.ci/results.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`no test report at ${file} (${error.message})`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
let failed = report.numFailedTests ?? 0;
// A file that fails to import fails as a suite with no failed test in it.
if (failed === 0) failed = report.numFailedTestSuites ?? 0;
if (passed + failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
