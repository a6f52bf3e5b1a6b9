import { Duration } from 'aws-cdk-lib';
import {
  DEFAULT_INSTANCE_LAYOUT, FIRST_START_MARKER, INSTANCE_ENV_FILE, PLANNED_RESTART_MARKER, WorkerInstanceLayout, layoutPath,
} from './instance-layout';
import { DEFAULT_RESTART_JITTER } from './worker-unit';
import { WorkerMetricNames } from '../worker-metrics';

/** Options of the prestart (restart counter and jitter) script. */
export interface PrestartScriptOptions {
  /**
   * Longest random sleep before a crash restart.
   * @default DEFAULT_RESTART_JITTER (60 seconds)
   */
  readonly restartJitter?: Duration;
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * The worker's `ExecStartPre=+` script. The first start after boot and planned restarts pass
 * straight through; every other start is a crash restart (Celery 5.0-5.2 exit 0 after a crash, so
 * every exit counts): it publishes `CdkCelery/WorkerRestarts`=1 by `AutoScalingGroupName` and
 * sleeps a random 0..jitter seconds so that a fleet hit by the same poison task never restarts
 * (and reconnects to the broker) in step.
 */
export function renderPrestartScript(options: PrestartScriptOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const jitter = (options.restartJitter ?? DEFAULT_RESTART_JITTER).toSeconds();
  const first = layoutPath(layout.stateDir, FIRST_START_MARKER);
  const planned = layoutPath(layout.stateDir, PLANNED_RESTART_MARKER);
  return `#!/bin/bash
# cdk-celery: runs as root before every start of the Celery worker.
set -u
mkdir -p ${layout.stateDir}
if [ ! -e ${first} ]; then
  touch ${first}
  exit 0
fi
if [ -e ${planned} ]; then
  rm -f ${planned}
  exit 0
fi
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, INSTANCE_ENV_FILE)}
timeout 30 aws cloudwatch put-metric-data --namespace ${WorkerMetricNames.NAMESPACE} \\
  --metric-name ${WorkerMetricNames.WORKER_RESTARTS} --unit Count --value 1 \\
  --dimensions "${WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION}=\${ASG_NAME}" \\
  || echo "cdk-celery: could not publish ${WorkerMetricNames.WORKER_RESTARTS}" >&2
delay=$((RANDOM % ${jitter + 1}))
echo "cdk-celery: the worker exited; restarting it in \${delay}s"
sleep "\${delay}"
`;
}
