import { Duration } from 'aws-cdk-lib';
import { WorkerBrokerOptions } from './render/broker-settings';
import { CeleryWorkerCommand, CeleryWorkerCommandOptions, renderCeleryWorkerCommand } from './render/celery-worker-command';
import { workerStopTimeout } from './render/worker-service';

/**
 * The fleet's `celery worker` command line, for workers this library does not manage (a container,
 * a developer's machine, a host of your own): the same flags, settings and validation the
 * fleet's instances run with.
 *
 * The systemd units and the boot, drain and prestart scripts are not offered: they call the helper
 * scripts and read the files the fleet's boot script writes on its own instances.
 */
export class CeleryWorkerRenderer {
  /**
   * Renders the `celery worker` command line (argument vector and environment) from typed options,
   * exactly as a fleet does, and refuses what a fleet refuses (unknown settings, unsafe extra
   * arguments, mingle without its acknowledgement...).
   *
   * @param options the worker's command options; `celeryExecutable` is the path of `celery` on
   *   the machine that runs it
   * @param broker the broker the worker consumes from: its engine version selects the queue-type
   *   and remote-control settings that broker needs (none when no engine version is given)
   */
  public static command(options: CeleryWorkerCommandOptions, broker?: WorkerBrokerOptions): CeleryWorkerCommand {
    return renderCeleryWorkerCommand(options, broker);
  }

  /**
   * How long a supervisor should give a worker to stop warm (finish its running tasks) before it
   * kills it: the hard task time limit plus 60 seconds, or 30 minutes (Amazon MQ's default
   * `consumer_timeout`) for tasks without one. The fleet sets its units' `TimeoutStopSec` to this.
   *
   * @param timeLimit the worker's hard task time limit (`CeleryWorkerCommandOptions.timeLimit`)
   */
  public static stopTimeout(timeLimit?: Duration): Duration {
    return workerStopTimeout(timeLimit);
  }

  private constructor() {}
}
