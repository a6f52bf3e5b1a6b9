import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { MqClient } from '@aws-sdk/client-mq';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readBroker } from './aws/broker-reader';
import { readFleets } from './aws/fleet-reader';
import { readMetrics } from './aws/metrics-reader';
import { readBrokerCredentials } from './aws/secret-reader';
import { brokerChecks, celeryCompatibilityChecks } from './broker-checks';
import { DoctorFacts } from './facts';
import { FailOn, Section } from './finding';
import { fleetChecks } from './fleet-checks';
import { estimateJoinCost } from './join-cost';
import { LiveBounds, readLive } from './live/live-reader';
import { liveChecks } from './live-checks';
import { metricsChecks } from './metrics-checks';
import { buildReport, DoctorReport, SectionStatus } from './report';

export interface DoctorOptions {
  readonly broker?: string;
  readonly region?: string;
  readonly autoScalingGroups: string[];
  /** Secrets Manager secret with the broker user (`username`, `password`). */
  readonly brokerSecret?: string;
  /** A full `amqp(s)://user:password@host:port/vhost` URL (read from the environment by the CLI). */
  readonly brokerUrl?: string;
  /** vhost used with `brokerSecret`. */
  readonly vhost: string;
  readonly managementUrl?: string;
  readonly start: Date;
  readonly end: Date;
  readonly failOn: FailOn;
  readonly bounds: LiveBounds;
}

/** The AWS clients; tests pass their own. */
export interface DoctorClients {
  readonly mq: MqClient;
  readonly cloudWatch: CloudWatchClient;
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
  readonly secretsManager: SecretsManagerClient;
}

/**
 * Clients on the standard credential chain and region resolution (AWS_REGION, profiles,
 * AWS_ENDPOINT_URL...), with bounded retries and timeouts.
 */
export function defaultClients(region?: string): DoctorClients {
  const config = { region, maxAttempts: 3, requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 } };
  return {
    mq: new MqClient(config),
    cloudWatch: new CloudWatchClient(config),
    autoScaling: new AutoScalingClient(config),
    ec2: new EC2Client(config),
    secretsManager: new SecretsManagerClient(config),
  };
}

function reason(error: unknown): string {
  const e = error as Error;
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${e?.message ?? String(error)}`.split('\n')[0];
}

/** Read what the options ask for, run every check, and build the report. Never throws for a section. */
export async function runDoctor(options: DoctorOptions, clients: DoctorClients): Promise<DoctorReport> {
  const sections: { [S in Section]: SectionStatus } = {
    broker: { status: 'skipped', reason: 'pass --broker' },
    metrics: { status: 'skipped', reason: 'pass --broker' },
    fleet: { status: 'skipped', reason: 'pass --asg' },
    live: { status: 'skipped', reason: 'pass --broker-secret or --broker-url-env' },
  };
  let facts: DoctorFacts = {};

  if (options.broker) {
    try {
      facts = { ...facts, broker: await readBroker(clients.mq, options.broker) };
      sections.broker = { status: 'read' };
    } catch (error) {
      sections.broker = { status: 'failed', reason: reason(error) };
      sections.metrics = { status: 'failed', reason: 'no broker' };
    }
  }
  const fleetRead = options.autoScalingGroups.length > 0
    ? readFleets(clients.autoScaling, clients.ec2, options.autoScalingGroups, options.start, options.end)
      .then((fleets) => {
        facts = { ...facts, fleets };
        sections.fleet = { status: 'read' };
      }, (error) => { sections.fleet = { status: 'failed', reason: reason(error) }; })
    : Promise.resolve();
  const broker = facts.broker;
  const metricsRead = broker
    ? readMetrics(clients.cloudWatch, {
      brokerName: broker.name, brokerId: broker.id, start: options.start, end: options.end, groups: options.autoScalingGroups,
    }).then((metrics) => {
      facts = { ...facts, metrics };
      sections.metrics = { status: 'read' };
    }, (error) => { sections.metrics = { status: 'failed', reason: reason(error) }; })
    : Promise.resolve();
  const liveRead = liveTarget(options, clients, facts).then(async (target) => {
    if (!target) return;
    try {
      const live = await readLive({ ...target, bounds: options.bounds });
      facts = { ...facts, live };
      sections.live = { status: 'read', reason: live.partial.length > 0 ? `partly: ${live.partial.length} read(s) failed, see live.workers` : undefined };
    } catch (error) {
      sections.live = { status: 'failed', reason: reason(error) };
    }
  }, (error) => { sections.live = { status: 'failed', reason: reason(error) }; });
  await Promise.all([fleetRead, metricsRead, liveRead]);

  const findings = [
    ...brokerChecks(facts),
    ...celeryCompatibilityChecks(facts),
    ...metricsChecks(facts),
    ...fleetChecks(facts),
    ...liveChecks(facts),
  ];
  return buildReport({
    generatedAt: new Date(),
    input: {
      broker: options.broker,
      region: options.region,
      autoScalingGroups: options.autoScalingGroups,
      window: { start: options.start.toISOString(), end: options.end.toISOString() },
      failOn: options.failOn,
    },
    sections,
    findings,
    remoteControlRequests: facts.live?.requests ?? [],
    joinCost: estimateJoinCost(facts),
  });
}

interface LiveTarget { amqpUrl: string; managementUrl?: string; username: string; password: string }

async function liveTarget(options: DoctorOptions, clients: DoctorClients, facts: DoctorFacts): Promise<LiveTarget | undefined> {
  if (options.brokerUrl) {
    const url = new URL(options.brokerUrl);
    if (!/^amqps?:$/.test(url.protocol)) throw new Error('the broker URL must start with amqp:// or amqps://');
    const amazonMq = /\.mq\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(url.hostname);
    return {
      amqpUrl: options.brokerUrl,
      managementUrl: options.managementUrl ?? facts.broker?.consoleUrl ?? (amazonMq ? `https://${url.hostname}` : undefined),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  }
  if (!options.brokerSecret) return undefined;
  const endpoint = facts.broker?.amqpEndpoints[0];
  if (!endpoint) throw new Error('--broker-secret needs the broker\'s AMQP endpoint: pass --broker (readable), or use --broker-url-env');
  const creds = await readBrokerCredentials(clients.secretsManager, options.brokerSecret);
  const base = new URL(endpoint);
  const amqpUrl = `${base.protocol}//${encodeURIComponent(creds.username)}:${encodeURIComponent(creds.password)}@${base.host}/${encodeURIComponent(options.vhost)}`;
  return { amqpUrl, managementUrl: options.managementUrl ?? facts.broker?.consoleUrl, username: creds.username, password: creds.password };
}
