import { CeleryRequirement } from './broker-settings';
import { shellQuote } from './shell-quote';
import { WorkerMetricNames } from '../worker-metrics';

/** Options of the Celery version check of the boot script. */
export interface CeleryVersionCheckOptions {
  /** Absolute path of the `celery` executable. */
  readonly celeryExecutable: string;
  /** The oldest Celery the worker command works with on its broker. */
  readonly requirement: CeleryRequirement;
}

/**
 * Boot-script lines that stop the boot when the installed Celery is older than the broker needs
 * (for example Celery 5.2 against RabbitMQ 4 quorum queues, which it would consume with global QoS
 * and crash-loop on): one clear log line, the `IncompatibleCelery` metric, and a failed boot
 * (cfn-signal 1 through the boot script's trap) instead of a worker restarting against the broker.
 * Expects `region` and `asg_name` to be set, as the boot script does.
 */
export function renderCeleryVersionCheck(options: CeleryVersionCheckOptions): string {
  const { version, reason } = options.requirement;
  const minimum = shellQuote(version);
  return `celery_version=$(${shellQuote(options.celeryExecutable)} --version 2>/dev/null | awk '{print $1}') || celery_version=''
if [ -z "\${celery_version}" ] || [ "$(printf '%s\\n' ${minimum} "\${celery_version}" | sort -V | head -n 1)" != ${minimum} ]; then
  echo ${shellQuote('cdk-celery: Celery ')}"\${celery_version:-unknown}"${shellQuote(` is too old: ${reason} (Celery ${version} or later). Not starting the worker.`)} >&2
  timeout 30 aws cloudwatch put-metric-data --region "\${region}" --namespace ${WorkerMetricNames.NAMESPACE} \\
    --metric-name ${WorkerMetricNames.INCOMPATIBLE_CELERY} --unit Count --value 1 \\
    --dimensions "${WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION}=\${asg_name}" || true
  exit 1
fi
`;
}
