import { Token } from 'aws-cdk-lib';

/**
 * Versions Amazon MQ accepts for new RabbitMQ brokers. 3.9 to 3.12 are end of support; 4.3 can
 * only be reached by upgrading a 4.2 broker (see `RabbitMqEngineVersion.of`).
 */
export const SUPPORTED_NEW_BROKER_ENGINE_VERSIONS: readonly string[] = Object.freeze(['3.13', '4.2']);

/**
 * Versions that Amazon MQ offers only as an in-place upgrade of an existing broker.
 * Kept apart so that a change on the AWS side is one edit here and one test.
 */
export const UPGRADE_ONLY_ENGINE_VERSIONS: readonly string[] = Object.freeze(['4.3']);

/** `MAJOR.MINOR` with an optional patch number. */
export const ENGINE_VERSION_FORMAT = /^(\d+)\.(\d+)(\.\d+)?$/;

/**
 * A RabbitMQ engine version of Amazon MQ, and what it changes for Celery.
 *
 * - RabbitMQ 4.2 on Amazon MQ makes a queue declared without a type a quorum queue. Quorum queues
 *   refuse global QoS (`basic.qos` with `global=true`), which Celery uses for its prefetch limit
 *   unless its own configuration declares the queues it consumes as quorum queues
 *   (`worker_detect_quorum_queues` only looks there, not at the broker's default). A worker fleet
 *   on such a broker therefore declares its task queues as quorum queues itself, which needs
 *   Celery 5.5 or later.
 * - RabbitMQ 4.3 also refuses transient non-exclusive queues (Celery's remote-control and event
 *   queues unless `control_queue_exclusive`/`event_queue_exclusive`, Celery 5.6 or later), and no
 *   longer honours global QoS (RabbitMQ applies `basic.qos` with `global=true` per consumer).
 *
 * See `CeleryWorkerFleet` and the README's "RabbitMQ 4" section for what the fleet renders.
 */
export class RabbitMqEngineVersion {
  /**
   * RabbitMQ 3.13: classic queues by default; runs on `mq.m5.*` and `mq.m7g.*`.
   * Choose it for Celery 5.4 and older.
   */
  public static readonly V3_13 = new RabbitMqEngineVersion('3.13');

  /**
   * RabbitMQ 4.2, the version Amazon MQ recommends: quorum queues by default, `mq.m7g.*` only.
   * Needs Celery 5.5 or later (see the class documentation).
   */
  public static readonly V4_2 = new RabbitMqEngineVersion('4.2');

  /**
   * Any other version, for example a version Amazon MQ adds after this library was released.
   *
   * There is deliberately no constant for 4.3: Amazon MQ offers it only as an upgrade of a 4.2
   * broker, so `of('4.3')` is accepted with a warning, for upgrading an existing broker. RabbitMQ
   * 4.3 also refuses transient non-exclusive queues and no longer honours global QoS, and
   * `consumer_timeout` no longer applies to classic queues there.
   *
   * @param version The `MAJOR.MINOR` version, for example `4.2`
   */
  public static of(version: string): RabbitMqEngineVersion {
    return new RabbitMqEngineVersion(version);
  }

  /** The version string passed to CloudFormation, for example `4.2`. */
  public readonly version: string;

  private constructor(version: string) {
    this.version = version;
  }

  /**
   * The major version (3, 4, ...), or undefined when the version is a token or not in the
   * `MAJOR.MINOR` format.
   */
  public get majorVersion(): number | undefined {
    if (Token.isUnresolved(this.version)) return undefined;
    const match = ENGINE_VERSION_FORMAT.exec(this.version);
    return match ? Number(match[1]) : undefined;
  }

  /**
   * The minor version, or undefined when the version is a token or not in the `MAJOR.MINOR` format.
   */
  public get minorVersion(): number | undefined {
    if (Token.isUnresolved(this.version)) return undefined;
    const match = ENGINE_VERSION_FORMAT.exec(this.version);
    return match ? Number(match[2]) : undefined;
  }

  /**
   * Whether a queue declared without a queue type becomes a quorum queue (RabbitMQ 4 on Amazon MQ),
   * or undefined when the version is not known at synth time.
   */
  public get quorumQueuesByDefault(): boolean | undefined {
    const major = this.majorVersion;
    return major === undefined ? undefined : major >= 4;
  }

  /**
   * Whether the broker refuses transient (non-durable) non-exclusive queues (Amazon MQ 4.3 and
   * later, which also apply global QoS per consumer), or undefined when the version is not known
   * at synth time.
   */
  public get refusesTransientNonExclusiveQueues(): boolean | undefined {
    const major = this.majorVersion;
    const minor = this.minorVersion;
    if (major === undefined || minor === undefined) return undefined;
    return major > 4 || (major === 4 && minor >= 3);
  }

  /** Whether this version can only be reached by upgrading an existing broker. */
  public get isUpgradeOnly(): boolean {
    return UPGRADE_ONLY_ENGINE_VERSIONS.includes(this.version);
  }

  /** The version string. */
  public toString(): string {
    return this.version;
  }
}
