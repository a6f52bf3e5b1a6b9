import { RestartSchedule } from './restart-schedules';
import { WorkerCommandFacts, WorkerCommandLine } from './worker-command-line';

/**
 * What the readers found, before any judgement. The checks are pure functions of these, so each
 * can be tested without AWS or a broker.
 */

export interface BrokerFacts {
  readonly id: string;
  readonly name: string;
  readonly engineType: string;
  readonly engineVersion?: string;
  readonly pendingEngineVersion?: string;
  readonly instanceType?: string;
  readonly pendingInstanceType?: string;
  readonly deploymentMode?: string;
  readonly state?: string;
  readonly maintenanceWindow?: string;
  readonly consoleUrl?: string;
  readonly amqpEndpoints: string[];
  readonly configuration?: BrokerConfigurationFacts;
}

export interface BrokerConfigurationFacts {
  readonly id: string;
  readonly revision: number;
  /** A configuration revision waiting for a reboot. */
  readonly pending?: { readonly id: string; readonly revision: number };
  /** `consumer_timeout` in the current revision; undefined when the revision does not set it. */
  readonly consumerTimeoutMs?: number;
  /** Why the revision could not be read, when it could not. */
  readonly readError?: string;
}

/** A series of one statistic per period, oldest first. */
export interface Series {
  readonly timestamps: Date[];
  readonly values: number[];
}

export interface AlarmFacts {
  readonly name: string;
  readonly state: string;
  readonly metricName?: string;
  readonly namespace?: string;
  readonly dimensions: { [name: string]: string };
  /** Whether CloudWatch lists the alarm's metric with exactly these dimensions. */
  readonly metricListed: boolean;
  /** Alarms on metric math (several metrics) are listed but not matched. */
  readonly metricMath: boolean;
}

export interface MetricsFacts {
  readonly start: Date;
  readonly end: Date;
  readonly periodSeconds: number;
  /** Dimension sets under which `NetworkIn` is published for this broker (by name or id). */
  readonly networkInDimensions: Array<{ [name: string]: string }>;
  /** Broker-level metric names published with `Broker` = the broker name. */
  readonly brokerMetricNames: string[];
  readonly ingress?: Series;
  readonly memoryUsed?: Series;
  readonly memoryLimit?: Series;
  readonly connections?: Series;
  /** Alarms whose dimensions name this broker (by name or id). */
  readonly alarms: AlarmFacts[];
  /** The library's `WorkerRestarts` per Auto Scaling group, when published. */
  readonly workerRestarts: { [group: string]: Series };
}

export interface FleetCommand extends WorkerCommandLine {
  readonly facts: WorkerCommandFacts;
}

export interface FleetFacts {
  readonly name: string;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly inService: number;
  /** `launch template lt-123 version 4`, `launch configuration lc-1`. */
  readonly launchSource: string;
  readonly userDataBytes: number;
  /** Why the user data could not be read, when it could not. */
  readonly userDataError?: string;
  /** The user data is this library's boot script. */
  readonly library: boolean;
  readonly commands: FleetCommand[];
  readonly schedules: RestartSchedule[];
  /** `CELERY_*` variables the user data sets. */
  readonly environment: { [name: string]: string };
  /** Celery versions pinned in the user data. */
  readonly celeryPins: string[];
  /** `Restart=` of the systemd unit that runs the worker, when the user data writes one. */
  readonly systemdRestart?: string;
  /** Instance launches in the window (Auto Scaling activities). */
  readonly launches: Date[];
}

/** A queue as the broker's management API shows it. */
export interface BrokerQueue {
  readonly name: string;
  readonly vhost: string;
  readonly type: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly consumers: number;
}

export interface LiveWorker {
  readonly node: string;
  readonly celeryVersion?: string;
  /** `prefetch_count` from `stats`. */
  readonly prefetchCount?: number;
  /** Pool size (`max-concurrency`). */
  readonly concurrency?: number;
  readonly pool?: string;
  /** `[soft, hard]` task time limits in seconds (0 = none). */
  readonly timeLimits?: [number, number];
  readonly uptimeSeconds?: number;
  /** Non-default settings from `conf` that the checks read (never the whole configuration). */
  readonly conf: { [key: string]: unknown };
  /** Task queues it consumes, with the queue type its own configuration declares. */
  readonly queues: Array<{ readonly name: string; readonly declaredType?: string }>;
  /** Heartbeat events seen from it while sampling (undefined: events not sampled). */
  readonly heartbeatsSeen?: number;
  /** It consumes a `celeryev.*` queue on its own connection: gossip. Undefined when not known. */
  readonly gossip?: boolean;
}

/** One remote-control request the doctor sent, for the record. */
export interface ControlRequest {
  readonly method: string;
  readonly destination: string[] | null;
  readonly replies: number;
  readonly replyBytes: number;
  /** Replies dropped for being over the size bound. */
  readonly dropped: number;
}

export interface LiveFacts {
  readonly managementUrl?: string;
  readonly amqpHost: string;
  readonly vhost: string;
  readonly rabbitmqVersion?: string;
  readonly vhostDefaultQueueType?: string;
  readonly remoteControlExchange: boolean;
  readonly workers: LiveWorker[];
  readonly queues: BrokerQueue[];
  /** Messages per second published to the `celeryev` exchange (management API), when known. */
  readonly eventPublishRate?: number;
  readonly heartbeatSampleSeconds: number;
  readonly requests: ControlRequest[];
  /** Parts that could not be read (the management API, one call): what and why. */
  readonly partial: string[];
}

/** Everything read in one run; a section is undefined when it was not requested or could not be read. */
export interface DoctorFacts {
  readonly broker?: BrokerFacts;
  readonly metrics?: MetricsFacts;
  readonly fleets?: FleetFacts[];
  readonly live?: LiveFacts;
}

/** The engine version: from Amazon MQ, else from the management API. */
export function engineVersionOf(facts: DoctorFacts): string | undefined {
  return facts.broker?.engineVersion ?? facts.live?.rabbitmqVersion;
}

/** Whether any fleet's command line leaves mingle on. */
export function mingleOnSomewhere(facts: DoctorFacts): boolean {
  return (facts.fleets ?? []).some((f) => f.commands.some((c) => c.facts.mingle && c.facts.remoteControl !== false));
}
