/**
 * Jest reporter that fails the run when any test was skipped (or left as a todo), when
 * CDK_CELERY_FAIL_ON_SKIPPED_TESTS=1: .ci/run sets it, so that a missing Celery installation, a
 * host without what the systemd harness needs, or a forgotten `.skip` cannot turn end-to-end tests
 * into skips while CI stays green. Locally (filters with -t skip the rest) it only reports.
 */
class FailOnSkippedReporter {
  constructor() {
    this.skipped = [];
  }

  onTestResult(_test, result) {
    for (const r of result.testResults) {
      if (r.status === 'pending' || r.status === 'skipped' || r.status === 'todo' || r.status === 'disabled') {
        this.skipped.push(`${result.testFilePath}: ${r.fullName}`);
      }
    }
  }

  onRunComplete() {
    if (this.enabled() && this.skipped.length > 0) {
      process.stderr.write(`\n${this.skipped.length} test(s) skipped, which CI does not allow:\n${this.skipped.map((s) => `  - ${s}`).join('\n')}\n`);
    }
  }

  getLastError() {
    if (this.enabled() && this.skipped.length > 0) {
      return new Error(`${this.skipped.length} test(s) skipped (CDK_CELERY_FAIL_ON_SKIPPED_TESTS=1)`);
    }
    return undefined;
  }

  enabled() {
    return process.env.CDK_CELERY_FAIL_ON_SKIPPED_TESTS === '1';
  }
}

module.exports = FailOnSkippedReporter;
