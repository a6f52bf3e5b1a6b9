/**
 * Where the fleet puts things on a worker instance. The renderers take a layout so that tests can
 * point units at stub executables in a temporary directory; the fleet always uses the default.
 */
export interface WorkerInstanceLayout {
  /** Directory of the helper scripts (prestart, drain, mark-unhealthy, broker-env, periodic-restart). */
  readonly libexecDir: string;
  /** Directory of the root-only configuration (broker env file, instance facts). */
  readonly configDir: string;
  /** Runtime state (restart counter, planned-restart marker); cleared at reboot. */
  readonly stateDir: string;
  /** Directory of the systemd units. */
  readonly unitDir: string;
  /** `systemctl` executable, as the units call it. */
  readonly systemctl: string;
  /** `sleep` executable, as the periodic-restart script calls it. */
  readonly sleep: string;
  /** Base URL of the instance metadata service (IMDSv2). */
  readonly imdsUrl: string;
  /**
   * `cfn-signal` executable, as the boot script calls it.
   * @default DEFAULT_CFN_SIGNAL (/opt/aws/bin/cfn-signal, from the aws-cfn-bootstrap package)
   */
  readonly cfnSignal?: string;
}

/** Where the aws-cfn-bootstrap package installs `cfn-signal`. */
export const DEFAULT_CFN_SIGNAL = '/opt/aws/bin/cfn-signal';

/** Paths of a layout: written into scripts and units as they are, so only plain absolute paths. */
const LAYOUT_PATH = /^\/[A-Za-z0-9_.\/-]*$/;
const LAYOUT_URL = /^http:\/\/[A-Za-z0-9.:[\]-]+$/;

/** Throws, naming the field, when a layout path could change what a script or unit does. */
export function validateInstanceLayout(layout: WorkerInstanceLayout): void {
  const paths: Array<[string, string | undefined]> = [
    ['libexecDir', layout.libexecDir], ['configDir', layout.configDir], ['stateDir', layout.stateDir], ['unitDir', layout.unitDir],
    ['systemctl', layout.systemctl], ['sleep', layout.sleep], ['cfnSignal', layout.cfnSignal],
  ];
  for (const [field, value] of paths) {
    if (value !== undefined && (!LAYOUT_PATH.test(value) || value.split('/').some((c) => c === '..'))) {
      throw new Error(`layout.${field}: ${JSON.stringify(value)} is not allowed; use an absolute path of letters, digits and _ . / - only.`);
    }
  }
  if (!LAYOUT_URL.test(layout.imdsUrl)) {
    throw new Error(`layout.imdsUrl: ${JSON.stringify(layout.imdsUrl)} is not allowed; use http://HOST[:PORT] (IMDS is plain HTTP on a link-local address).`);
  }
}

export const DEFAULT_INSTANCE_LAYOUT: WorkerInstanceLayout = Object.freeze({
  libexecDir: '/usr/local/libexec/cdk-celery',
  configDir: '/etc/cdk-celery',
  stateDir: '/run/cdk-celery',
  unitDir: '/etc/systemd/system',
  systemctl: '/usr/bin/systemctl',
  sleep: '/usr/bin/sleep',
  imdsUrl: 'http://169.254.169.254',
});

/** Unit names; the drain and boot scripts address the worker by these. */
export const WORKER_UNIT = 'celery-worker.service';
export const DRAIN_UNIT = 'celery-drain.service';
export const UNHEALTHY_UNIT = 'celery-unhealthy.service';
export const PERIODIC_RESTART_UNIT = 'celery-periodic-restart.service';
export const PERIODIC_RESTART_TIMER = 'celery-periodic-restart.timer';

/** Script file names inside `libexecDir`. */
export const PRESTART_SCRIPT = 'prestart';
export const DRAIN_SCRIPT = 'drain';
export const UNHEALTHY_SCRIPT = 'mark-unhealthy';
export const BROKER_ENV_SCRIPT = 'write-broker-env';
export const PERIODIC_RESTART_SCRIPT = 'periodic-restart';
/** The celery command line for this instance's worker (operators, and the readiness check). */
export const CELERY_CTL_SCRIPT = 'celery-ctl';
/** Directory (in the libexec directory) on `celery-ctl`'s Python path. */
export const CELERY_CLIENT_PYTHON_DIR = 'python';
/** The module `celery-ctl` passes to `-A`: the application with the broker's client settings. */
export const CELERY_CLIENT_MODULE = 'cdk_celery_client';

/** File names inside `configDir`. */
export const BROKER_ENV_FILE = 'broker.env';
export const INSTANCE_ENV_FILE = 'instance.env';

/** File names inside `stateDir`. */
export const FIRST_START_MARKER = 'started';
export const PLANNED_RESTART_MARKER = 'planned-restart';

/** Join a directory and a file name. */
export function layoutPath(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, '')}/${file}`;
}
