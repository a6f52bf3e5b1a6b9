import { Duration } from 'aws-cdk-lib';

/** Options of `ConfigurationChangePolicy.applyNowWithReboot`. */
export interface ApplyNowWithRebootOptions {
  /**
   * How long a deployment waits for the broker to be RUNNING again with nothing pending
   * (`ConfigurationApplier.waitTimeout`), between 1 and 55 minutes.
   * @default ConfigurationApplier.DEFAULT_WAIT_TIMEOUT (45 minutes)
   */
  readonly waitTimeout?: Duration;
}

/**
 * When a changed RabbitMQ configuration (for example a new `consumerTimeout`) takes effect.
 *
 * Amazon MQ keeps a new configuration revision pending until the broker reboots: at the next
 * maintenance window, or at once with a reboot. A new broker always starts with its configuration
 * applied: the policy only matters for changes to an existing broker.
 */
export class ConfigurationChangePolicy {
  /**
   * Leave the change pending until the next maintenance window (the default). Nothing interrupts
   * the workers during the deployment; the broker runs with the previous settings until then.
   * (Amazon MQ documents that the change stays pending; that a CloudFormation update never
   * reboots the broker by itself is not confirmed.)
   */
  public static maintenanceWindow(): ConfigurationChangePolicy {
    return new ConfigurationChangePolicy(false);
  }

  /**
   * Reboot the broker during the deployment when a configuration change is pending, with the
   * `ConfigurationApplier` custom resource. A reboot closes every connection: Celery workers
   * reconnect, and a single-instance broker is unavailable for a few minutes. The reboot also
   * applies any other pending broker change (engine version, instance type).
   *
   * @param options How long a deployment waits for the rebooted broker (`waitTimeout`)
   */
  public static applyNowWithReboot(options: ApplyNowWithRebootOptions = {}): ConfigurationChangePolicy {
    return new ConfigurationChangePolicy(true, options.waitTimeout);
  }

  /** Whether a pending configuration change is applied by rebooting during the deployment. */
  public readonly rebootNow: boolean;

  /** The wait timeout of the reboot, when `rebootNow`. */
  public readonly waitTimeout?: Duration;

  private constructor(rebootNow: boolean, waitTimeout?: Duration) {
    this.rebootNow = rebootNow;
    this.waitTimeout = waitTimeout;
  }
}
