// Scale-in drain, one feature in one file: the drain service's script and its unit.
import { Duration } from 'aws-cdk-lib';
import { renderImdsFunction } from './imds';
import {
  DEFAULT_INSTANCE_LAYOUT, DRAIN_SCRIPT, INSTANCE_ENV_FILE, PERIODIC_RESTART_TIMER, WORKER_UNIT, WorkerInstanceLayout, layoutPath,
} from './instance-layout';

/** How often the drain service reads the instance's target lifecycle state. */
export const DEFAULT_DRAIN_POLL_INTERVAL = Duration.seconds(5);

/** Options of the drain script. */
export interface DrainScriptOptions {
  /**
   * How often to read `autoscaling/target-lifecycle-state`.
   * @default DEFAULT_DRAIN_POLL_INTERVAL (5 seconds)
   */
  readonly pollInterval?: Duration;
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * The drain service's script: polls IMDSv2 `autoscaling/target-lifecycle-state`; on `Terminated`
 * (the instance is in `Terminating:Wait`) stops the periodic-restart timer, stops the worker warm
 * (`systemctl stop` returns once running tasks finished or `TimeoutStopSec` passed), then completes
 * the termination lifecycle action. `ASG_NAME`, `INSTANCE_ID` and `LIFECYCLE_HOOK_NAME` come from
 * the instance env file the boot script writes.
 */
export function renderDrainScript(options: DrainScriptOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const poll = (options.pollInterval ?? DEFAULT_DRAIN_POLL_INTERVAL).toSeconds();
  return `#!/bin/bash
# cdk-celery: drain the Celery worker when Auto Scaling terminates this instance.
set -uo pipefail
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, INSTANCE_ENV_FILE)}
${renderImdsFunction(layout)}until [ "$(imds autoscaling/target-lifecycle-state)" = Terminated ]; do
  sleep ${poll}
done
echo "cdk-celery: scale-in: stopping the worker warm; running tasks finish first"
${layout.systemctl} stop ${PERIODIC_RESTART_TIMER} 2>/dev/null || true
${layout.systemctl} stop ${WORKER_UNIT}
for attempt in 1 2 3 4 5; do
  if aws autoscaling complete-lifecycle-action --auto-scaling-group-name "\${ASG_NAME}" \\
    --lifecycle-hook-name "\${LIFECYCLE_HOOK_NAME}" --instance-id "\${INSTANCE_ID}" \\
    --lifecycle-action-result CONTINUE; then
    echo "cdk-celery: worker drained; lifecycle action completed"
    exit 0
  fi
  sleep $((attempt * 5))
done
exit 1
`;
}

/** Options of the drain service. */
export interface DrainServiceUnitOptions {
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/** The drain service: watches for this instance's scale-in and drains the worker. */
export function renderDrainServiceUnit(options: DrainServiceUnitOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  return [
    '[Unit]',
    'Description=Drain the Celery worker when Auto Scaling terminates this instance (cdk-celery)',
    'Wants=network-online.target',
    // Ordered after the worker so that at shutdown it stops first and never races the worker's stop.
    `After=network-online.target ${WORKER_UNIT}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${layoutPath(layout.libexecDir, DRAIN_SCRIPT)}`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
