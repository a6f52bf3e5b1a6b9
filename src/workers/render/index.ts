// The renderers' internal surface: the fleet, the doctor, the benchmarks and the tests import it by
// relative path. None of it is re-exported from src/index.ts (see the README's "Public API"); the
// types the public constructs take (CeleryPool, CeleryQueueType, CeleryWorkerOptions, CeleryWorkerCommandOptions,
// PeriodicRestartOptions) and CeleryWorkerCommandRenderer's types are exported from src/workers/index.ts.

export { DEFAULT_READINESS_TIMEOUT, renderBootScript } from './boot-script';
export type { BootCodeSource, BootSignalTarget, BootScriptOptions } from './boot-script';
export {
  BASELINE_CELERY, QUORUM_QUEUES_CELERY, EXCLUSIVE_CONTROL_QUEUES_CELERY, renderBrokerSettings, celeryVersionAtLeast,
} from './broker-settings';
export type { WorkerBrokerOptions, BrokerSettingsOptions, CeleryRequirement, BrokerSettings } from './broker-settings';
export { BROKER_URL_PYTHON, renderBrokerEnvScript } from './broker-url';
export type { BrokerEnvScriptOptions } from './broker-url';
export { renderCeleryClientModule, renderCeleryCtlScript } from './celery-client';
export type { CeleryCtlScriptOptions } from './celery-client';
export { CeleryPool } from './celery-pool';
export { CeleryQueueType } from './celery-queue-type';
export { renderCeleryVersionCheck } from './celery-version-check';
export type { CeleryVersionCheckOptions } from './celery-version-check';
export { DEFAULT_REVOKES_MAX, DEFAULT_REVOKE_EXPIRES, renderCeleryWorkerCommand } from './celery-worker-command';
export type { CeleryWorkerOptions, CeleryWorkerCommandOptions, CeleryWorkerCommand } from './celery-worker-command';
export { DeployTimeValues } from './deploy-time-values';
export { DEFAULT_DRAIN_POLL_INTERVAL, renderDrainScript, renderDrainServiceUnit } from './drain';
export type { DrainScriptOptions, DrainServiceUnitOptions } from './drain';
export { IMDS_TOKEN_TTL_SECONDS, renderImdsFunction } from './imds';
export {
  DEFAULT_CFN_SIGNAL, validateInstanceLayout, DEFAULT_INSTANCE_LAYOUT, WORKER_UNIT, DRAIN_UNIT, UNHEALTHY_UNIT, PERIODIC_RESTART_UNIT,
  PERIODIC_RESTART_TIMER, PRESTART_SCRIPT, DRAIN_SCRIPT, UNHEALTHY_SCRIPT, BROKER_ENV_SCRIPT, PERIODIC_RESTART_SCRIPT, CELERY_CTL_SCRIPT,
  CELERY_CLIENT_PYTHON_DIR, CELERY_CLIENT_MODULE, BROKER_ENV_FILE, INSTANCE_ENV_FILE, FIRST_START_MARKER, PLANNED_RESTART_MARKER,
  layoutPath,
} from './instance-layout';
export type { WorkerInstanceLayout } from './instance-layout';
export {
  DEFAULT_NODE_NAME, MAX_NODE_NAME_TEMPLATE_LENGTH, nodeNameTemplateError, celeryNodeName, NODE_NAME_PARTS, renderNodeNameAssignment,
} from './node-name';
export {
  DEFAULT_PERIODIC_RESTART_CALENDAR, DEFAULT_PERIODIC_RESTART_WINDOW, PERIODIC_RESTART_LIST_TIMEOUT, validatePeriodicRestart,
  renderPeriodicRestartTimerUnit, periodicRestartSlotSeconds, renderPeriodicRestartScript, renderPeriodicRestartServiceUnit,
} from './periodic-restart';
export type {
  PeriodicRestartOptions, PeriodicRestartSlotInput, PeriodicRestartScriptOptions, PeriodicRestartServiceUnitOptions,
} from './periodic-restart';
export {
  shellQuote, systemdWordError, systemdQuoteArgument, systemdCommandLine, systemdEnvironmentAssignment, systemdPathSetting,
} from './shell-quote';
export { onCalendarError } from './systemd-calendar';
export { renderUnhealthyScript, renderUnhealthyServiceUnit } from './unhealthy';
export type { UnhealthyScriptOptions, UnhealthyServiceUnitOptions } from './unhealthy';
export {
  DEFAULT_STOP_TIMEOUT, STOP_TIMEOUT_MARGIN, DEFAULT_RESTART_JITTER, DEFAULT_RESTART_DELAY, DEFAULT_START_LIMIT_BURST,
  DEFAULT_START_LIMIT_INTERVAL, workerStopTimeout, renderWorkerServiceUnit, renderPrestartScript,
} from './worker-service';
export type { WorkerServiceUnitOptions, PrestartScriptOptions } from './worker-service';
