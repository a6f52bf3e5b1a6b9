import {
  BROKER_ENV_FILE, CELERY_CLIENT_MODULE, CELERY_CLIENT_PYTHON_DIR, DEFAULT_INSTANCE_LAYOUT, WorkerInstanceLayout, layoutPath,
} from './instance-layout';
import { shellQuote } from './shell-quote';

/**
 * A Python module that re-exports the application as `app`, with the settings a client of this
 * broker needs: on a broker that refuses transient non-exclusive queues (Amazon MQ 4.3) the reply
 * queue of `celery inspect`/`control` must be exclusive, and the application's own configuration
 * may not say so (the worker gets it on its command line, which `celery inspect` has no way to
 * take). `celery -A cdk_celery_client inspect ping` then works wherever the worker works.
 */
export function renderCeleryClientModule(): string {
  return `# cdk-celery: the app with its broker's client settings (celery-ctl)
import os
from celery.app.utils import find_app
app = find_app(os.environ["CDK_CELERY_APP"])
if os.environ.get("CDK_CELERY_EXCLUSIVE_CONTROL_QUEUES") == "1":
    app.conf.control_queue_exclusive = True
`;
}

/** Options of the `celery-ctl` script. */
export interface CeleryCtlScriptOptions {
  /** The Celery application, as passed to `-A`. */
  readonly app: string;
  /** Absolute path of the `celery` executable. */
  readonly celeryExecutable: string;
  /** The worker's user. */
  readonly user: string;
  /** The worker's working directory. */
  readonly workingDirectory: string;
  /** Whether the broker needs exclusive remote-control reply queues. */
  readonly exclusiveControlQueues: boolean;
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * `celery-ctl ARGS`: runs `celery ARGS` (`inspect active`, `control shutdown`, `status`, ...) as
 * the worker's user, with the worker's broker URL (from the root-only env file, so run it as root,
 * e.g. `sudo` in a Session Manager shell) and the settings the broker needs. The boot script's
 * readiness check uses it too.
 */
export function renderCeleryCtlScript(options: CeleryCtlScriptOptions): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const pythonDir = layoutPath(layout.libexecDir, CELERY_CLIENT_PYTHON_DIR);
  return `#!/bin/bash
# cdk-celery: the celery CLI (inspect, control) for this worker. Run as root.
set -euo pipefail
set -a
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, BROKER_ENV_FILE)}
set +a
export CDK_CELERY_APP=${shellQuote(options.app)}
export CDK_CELERY_EXCLUSIVE_CONTROL_QUEUES=${options.exclusiveControlQueues ? '1' : '0'}
export PYTHONPATH=${pythonDir}\${PYTHONPATH:+:\${PYTHONPATH}}
cd ${shellQuote(options.workingDirectory)}
exec runuser -u ${shellQuote(options.user)} -m -- ${shellQuote(options.celeryExecutable)} -A ${CELERY_CLIENT_MODULE} "$@"
`;
}
