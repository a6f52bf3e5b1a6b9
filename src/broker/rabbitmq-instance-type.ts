import { Token } from 'aws-cdk-lib';

/** `mq.FAMILY.SIZE`, for example `mq.m7g.large`. */
export const INSTANCE_TYPE_FORMAT = /^mq\.([a-z0-9]+)\.([a-z0-9]+)$/;

/**
 * Instance types Amazon MQ no longer accepts for new RabbitMQ brokers, with the reason.
 * `mq.t3.micro`: end of support on 2026-10-01, no new brokers.
 */
export const REFUSED_INSTANCE_TYPES: { readonly [name: string]: string } = Object.freeze({
  'mq.t3.micro': 'mq.t3.micro can no longer be used for new brokers (end of support 2026-10-01)',
});

/**
 * The host instance type of an Amazon MQ for RabbitMQ broker.
 *
 * RabbitMQ 4.x runs only on `mq.m7g.*`; RabbitMQ 3.13 also runs on `mq.m5.*`. `mq.t3.micro` is
 * refused for new brokers. The memory high watermark that blocks publishers is managed by Amazon
 * MQ (absolute on m7g, for example about 4.3 GiB on `mq.m7g.large`; 40 % of RAM on m5).
 */
export class RabbitMqInstanceType {
  /** 1 vCPU, 4 GiB; meant for evaluation (a warning is added). */
  public static readonly M7G_MEDIUM = new RabbitMqInstanceType('mq.m7g.medium');
  /** 2 vCPUs, 8 GiB: the default (the smallest type not meant for evaluation only). */
  public static readonly M7G_LARGE = new RabbitMqInstanceType('mq.m7g.large');
  /** 4 vCPUs, 16 GiB. */
  public static readonly M7G_XLARGE = new RabbitMqInstanceType('mq.m7g.xlarge');
  /** 8 vCPUs, 32 GiB. */
  public static readonly M7G_2XLARGE = new RabbitMqInstanceType('mq.m7g.2xlarge');
  /** 16 vCPUs, 64 GiB. */
  public static readonly M7G_4XLARGE = new RabbitMqInstanceType('mq.m7g.4xlarge');
  /** 32 vCPUs, 128 GiB. */
  public static readonly M7G_8XLARGE = new RabbitMqInstanceType('mq.m7g.8xlarge');
  /** 48 vCPUs, 192 GiB. */
  public static readonly M7G_12XLARGE = new RabbitMqInstanceType('mq.m7g.12xlarge');
  /** 64 vCPUs, 256 GiB. */
  public static readonly M7G_16XLARGE = new RabbitMqInstanceType('mq.m7g.16xlarge');
  /** 2 vCPUs, 8 GiB; RabbitMQ 3.13 only. */
  public static readonly M5_LARGE = new RabbitMqInstanceType('mq.m5.large');
  /** 4 vCPUs, 16 GiB; RabbitMQ 3.13 only. */
  public static readonly M5_XLARGE = new RabbitMqInstanceType('mq.m5.xlarge');
  /** 8 vCPUs, 32 GiB; RabbitMQ 3.13 only. */
  public static readonly M5_2XLARGE = new RabbitMqInstanceType('mq.m5.2xlarge');
  /** 16 vCPUs, 64 GiB; RabbitMQ 3.13 only. */
  public static readonly M5_4XLARGE = new RabbitMqInstanceType('mq.m5.4xlarge');

  /**
   * Any other instance type, for example one Amazon MQ adds after this library was released.
   * Families this library does not know are accepted with a warning.
   *
   * @param name The full name, for example `mq.m7g.large`
   */
  public static of(name: string): RabbitMqInstanceType {
    return new RabbitMqInstanceType(name);
  }

  /** The name passed to CloudFormation, for example `mq.m7g.large`. */
  public readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * The instance family (`m7g`, `m5`, ...), or undefined when the name is a token or not in the
   * `mq.FAMILY.SIZE` format.
   */
  public get family(): string | undefined {
    if (Token.isUnresolved(this.name)) return undefined;
    return INSTANCE_TYPE_FORMAT.exec(this.name)?.[1];
  }

  /** The name. */
  public toString(): string {
    return this.name;
  }
}
