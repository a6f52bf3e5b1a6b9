// Crash-loop replacement, one feature in one file: the mark-unhealthy script and the unit OnFailure= starts.
import { DEFAULT_INSTANCE_LAYOUT, INSTANCE_ENV_FILE, UNHEALTHY_SCRIPT, WorkerInstanceLayout, layoutPath } from './instance-layout';

/** Options of the mark-unhealthy script. */
export interface UnhealthyScriptOptions {
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * Run by the `OnFailure=` unit once the worker hit its start limit (a crash loop): marks the
 * instance Unhealthy so Auto Scaling replaces it. The termination still goes through the drain
 * service, which completes the lifecycle action at once because the worker is already stopped.
 */
export function renderUnhealthyScript(options: UnhealthyScriptOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  return `#!/bin/bash
# cdk-celery: the worker crash-looped; have Auto Scaling replace this instance.
set -euo pipefail
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, INSTANCE_ENV_FILE)}
echo "cdk-celery: the Celery worker hit its start limit; marking \${INSTANCE_ID} Unhealthy" >&2
aws autoscaling set-instance-health --instance-id "\${INSTANCE_ID}" --health-status Unhealthy \\
  --no-should-respect-grace-period
`;
}

/** Options of the mark-unhealthy unit. */
export interface UnhealthyServiceUnitOptions {
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/** Started by `OnFailure=` when the worker hits its start limit: asks Auto Scaling to replace the instance. */
export function renderUnhealthyServiceUnit(options: UnhealthyServiceUnitOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  return [
    '[Unit]',
    'Description=Mark this instance Unhealthy after the Celery worker crash-looped (cdk-celery)',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${layoutPath(layout.libexecDir, UNHEALTHY_SCRIPT)}`,
    '',
  ].join('\n');
}
