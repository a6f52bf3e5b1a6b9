// Bundled into the Lambda assets by esbuild (like the .lambda.ts entry points); never loaded from lib/.
// eslint-disable-next-line import/no-extraneous-dependencies
import { DescribeBrokerCommand, DescribeBrokerResponse, MqClient, RebootBrokerCommand } from '@aws-sdk/client-mq';

/*
 * Custom resource handlers that apply a pending Amazon MQ configuration revision now by rebooting
 * the broker, instead of leaving it for the next maintenance window.
 *
 * Lifecycle (Provider framework: onEvent once, then isComplete every query interval):
 * - Create/Update, broker RUNNING with a configuration change pending: onEvent reboots, isComplete
 *   waits until the broker is RUNNING again with nothing pending.
 * - Create/Update, nothing pending: no reboot; isComplete confirms RUNNING and finishes.
 * - Create/Update, broker not RUNNING at the start (a reboot or maintenance already under way,
 *   CRITICAL_ACTION_REQUIRED): no reboot in onEvent (Amazon MQ only reboots RUNNING brokers);
 *   isComplete waits for RUNNING within the same waitTimeout and reboots then if the change is
 *   still pending. CREATION_FAILED and DELETION_IN_PROGRESS fail at once: waiting cannot help.
 * - Delete: nothing to undo, no AWS call.
 * isComplete fails with a message naming the broker, its state and what to do once the deadline
 * (start + waitTimeout) has passed.
 */

/** Properties CloudFormation passes to the handlers (all strings, as in every custom resource). */
export interface ConfigurationApplierResourceProperties {
  readonly BrokerId: string;
  readonly BrokerArn: string;
  readonly ConfigurationId: string;
  readonly ConfigurationRevision: string;
  readonly WaitTimeoutSeconds: string;
}

/** The subset of the Provider framework's request that these handlers read. */
export interface ConfigurationApplierEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { readonly [key: string]: unknown };
  /** On isComplete requests: the Data returned by onEvent. */
  readonly Data?: { readonly [key: string]: string };
}

export interface ConfigurationApplierOnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { [key: string]: string };
}

export interface ConfigurationApplierIsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: { [key: string]: string };
}

export interface ThrottleRetryOptions {
  /** Calls per API request before giving up (the first call included). */
  readonly maxAttempts: number;
  /** Backoff before the second call; doubles for each further call. */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff. */
  readonly maxDelayMs: number;
}

export interface ConfigurationApplierDependencies {
  readonly client: MqClient;
  /** Injectable so tests do not really wait. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Injectable clock (epoch milliseconds) so tests can move past the deadline. */
  readonly now: () => number;
  readonly retry?: ThrottleRetryOptions;
  /** Describe calls after a reboot to see the broker leave RUNNING (RebootBroker is asynchronous). */
  readonly rebootConfirmAttempts?: number;
  readonly rebootConfirmDelayMs?: number;
}

/**
 * About 15 s of backoff (1 + 2 + 4 + 8) on top of the SDK's own retries: enough to ride out a burst
 * of a shared per-account API rate, short enough to fit the Lambda timeout.
 */
export const DEFAULT_THROTTLE_RETRY: Readonly<ThrottleRetryOptions> = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 8_000 };
const DEFAULT_REBOOT_CONFIRM_ATTEMPTS = 10;
const DEFAULT_REBOOT_CONFIRM_DELAY_MS = 3_000;

/** Broker states from which the broker cannot become RUNNING on its own. */
const TERMINAL_STATES = new Set(['CREATION_FAILED', 'DELETION_IN_PROGRESS']);
const RUNNING = 'RUNNING';

/** Data keys, visible through Fn::GetAtt and in the CloudFormation console. */
export const DATA_REBOOTED = 'Rebooted';
export const DATA_REBOOT_DEFERRED = 'RebootDeferred';
export const DATA_WAIT_DEADLINE = 'WaitDeadline';

export class ThrottledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThrottledError';
  }
}

/** What DescribeBroker says about configuration changes, reduced to what the handlers decide on. */
export interface BrokerConfigurationStatus {
  readonly state: string;
  readonly configurationPending: boolean;
  readonly current?: string;
  readonly pending?: string;
  /** Other changes a reboot would also apply now (engine version, instance type, ...). */
  readonly otherPendingChanges: string[];
  readonly actionsRequired: string[];
}

export function analyzeBroker(broker: DescribeBrokerResponse): BrokerConfigurationStatus {
  const current = broker.Configurations?.Current;
  const pending = broker.Configurations?.Pending;
  // DescribeBroker reports Pending equal to Current when nothing is pending, so compare them.
  const configurationPending = pending?.Id !== undefined
    && (pending.Id !== current?.Id || String(pending.Revision) !== String(current?.Revision));
  const otherPendingChanges: string[] = [];
  if (broker.PendingEngineVersion) otherPendingChanges.push(`PendingEngineVersion=${broker.PendingEngineVersion}`);
  if (broker.PendingHostInstanceType) otherPendingChanges.push(`PendingHostInstanceType=${broker.PendingHostInstanceType}`);
  if (broker.PendingSecurityGroups?.length) otherPendingChanges.push('PendingSecurityGroups');
  if (broker.PendingAuthenticationStrategy) otherPendingChanges.push('PendingAuthenticationStrategy');
  if (broker.PendingLdapServerMetadata) otherPendingChanges.push('PendingLdapServerMetadata');
  if (broker.PendingDataReplicationMode) otherPendingChanges.push('PendingDataReplicationMode');
  if (broker.Logs?.Pending) otherPendingChanges.push('Logs.Pending');
  return {
    state: broker.BrokerState ?? 'UNKNOWN',
    configurationPending,
    current: current?.Id ? `${current.Id} revision ${current.Revision}` : undefined,
    pending: configurationPending ? `${pending!.Id} revision ${pending!.Revision}` : undefined,
    otherPendingChanges,
    actionsRequired: (broker.ActionsRequired ?? [])
      .map(a => [a.ActionRequiredCode, a.ActionRequiredInfo].filter(Boolean).join(': '))
      .filter(a => a.length > 0),
  };
}

export function isThrottlingError(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return e?.name === 'ThrottlingException'
    || e?.name === 'TooManyRequestsException'
    || e?.$metadata?.httpStatusCode === 429
    || e?.$retryable?.throttling === true;
}

/** Runs `call`, retrying throttled attempts with exponential backoff; other errors pass through. */
export async function withThrottleRetry<T>(
  operation: string,
  brokerId: string,
  call: () => Promise<T>,
  deps: Pick<ConfigurationApplierDependencies, 'sleep' | 'retry'>,
): Promise<T> {
  const retry = deps.retry ?? DEFAULT_THROTTLE_RETRY;
  let lastError: unknown;
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isThrottlingError(err)) throw err;
      lastError = err;
      if (attempt < retry.maxAttempts) {
        await deps.sleep(Math.min(retry.baseDelayMs * 2 ** (attempt - 1), retry.maxDelayMs));
      }
    }
  }
  const detail = (lastError as Error | undefined)?.name ?? 'throttled';
  throw new ThrottledError(
    `Amazon MQ throttled ${operation} for broker ${brokerId} on all ${retry.maxAttempts} attempts (${detail}). `
    + 'The configuration change was not applied by ConfigurationApplier. Retry the deployment later, '
    + 'or reduce other Amazon MQ API traffic in this account and Region.',
  );
}

interface ParsedProperties {
  readonly brokerId: string;
  readonly configurationId: string;
  readonly configurationRevision: string;
  readonly waitTimeoutSeconds: number;
}

function parseProperties(props: { readonly [key: string]: unknown }): ParsedProperties {
  const text = (key: keyof ConfigurationApplierResourceProperties): string => {
    const value = props[key];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(`ConfigurationApplier: resource property ${key} is missing (got ${JSON.stringify(value)})`);
    }
    return String(value);
  };
  const waitTimeoutSeconds = Number(text('WaitTimeoutSeconds'));
  if (!Number.isFinite(waitTimeoutSeconds) || waitTimeoutSeconds <= 0) {
    throw new Error(`ConfigurationApplier: WaitTimeoutSeconds must be a positive number, got ${JSON.stringify(props.WaitTimeoutSeconds)}`);
  }
  return {
    brokerId: text('BrokerId'),
    configurationId: text('ConfigurationId'),
    configurationRevision: text('ConfigurationRevision'),
    waitTimeoutSeconds,
  };
}

async function describe(brokerId: string, deps: ConfigurationApplierDependencies): Promise<BrokerConfigurationStatus> {
  const response = await withThrottleRetry('DescribeBroker', brokerId,
    () => deps.client.send(new DescribeBrokerCommand({ BrokerId: brokerId })), deps);
  return analyzeBroker(response);
}

function terminalStateError(p: ParsedProperties, status: BrokerConfigurationStatus): Error {
  return new Error(
    `Amazon MQ broker ${p.brokerId} is in state ${status.state}; ConfigurationApplier cannot apply configuration `
    + `${p.configurationId} revision ${p.configurationRevision} to it. Fix or replace the broker, then retry the deployment.`,
  );
}

/**
 * Requests a reboot, then describes the broker a few times until it leaves RUNNING, so that a later
 * isComplete does not mistake a reboot that has not started yet for one that is still needed.
 */
async function rebootBroker(brokerId: string, deps: ConfigurationApplierDependencies): Promise<boolean> {
  await withThrottleRetry('RebootBroker', brokerId,
    () => deps.client.send(new RebootBrokerCommand({ BrokerId: brokerId })), deps);
  const attempts = deps.rebootConfirmAttempts ?? DEFAULT_REBOOT_CONFIRM_ATTEMPTS;
  for (let i = 0; i < attempts; i++) {
    try {
      // One call per check, no backoff: the reboot is already requested, so a throttled check only
      // delays the confirmation, and the whole loop must fit the Lambda timeout.
      const status = analyzeBroker(await deps.client.send(new DescribeBrokerCommand({ BrokerId: brokerId })));
      if (status.state !== RUNNING || !status.configurationPending) return true;
    } catch (err) {
      if (!isThrottlingError(err)) throw err;
    }
    await deps.sleep(deps.rebootConfirmDelayMs ?? DEFAULT_REBOOT_CONFIRM_DELAY_MS);
  }
  console.warn(`Broker ${brokerId} still RUNNING with the configuration pending ${attempts} checks after RebootBroker`);
  return false;
}

/**
 * Reboots unless Amazon MQ refuses because the broker left RUNNING between describe and reboot
 * (BadRequest/Conflict): then returns false and the next isComplete poll decides again.
 * Throttling is tolerated only where a later poll can retry (`tolerateThrottling`).
 */
async function tryReboot(brokerId: string, deps: ConfigurationApplierDependencies, tolerateThrottling = false): Promise<boolean> {
  try {
    await rebootBroker(brokerId, deps);
    return true;
  } catch (err) {
    const name = (err as Error).name;
    const refused = name === 'BadRequestException' || name === 'ConflictException';
    if (!refused && !(tolerateThrottling && err instanceof ThrottledError)) throw err;
    console.warn(`RebootBroker for ${brokerId} not done (${name}: ${(err as Error).message}); the next poll decides again`);
    return false;
  }
}

function physicalResourceId(event: ConfigurationApplierEvent, brokerId: string): string {
  return event.PhysicalResourceId ?? `${brokerId}-configuration-applier`;
}

export async function onEvent(
  event: ConfigurationApplierEvent,
  deps: ConfigurationApplierDependencies,
): Promise<ConfigurationApplierOnEventResponse> {
  if (event.RequestType === 'Delete') {
    // Removing the applier changes nothing on the broker: never reboot on delete.
    return { PhysicalResourceId: event.PhysicalResourceId ?? 'configuration-applier' };
  }
  const p = parseProperties(event.ResourceProperties);
  const deadline = new Date(deps.now() + p.waitTimeoutSeconds * 1000).toISOString();
  const status = await describe(p.brokerId, deps);
  console.log(JSON.stringify({ phase: 'onEvent', requestType: event.RequestType, brokerId: p.brokerId, ...status }));
  if (TERMINAL_STATES.has(status.state)) throw terminalStateError(p, status);

  let rebooted = false;
  // Not RUNNING: Amazon MQ rejects RebootBroker, so isComplete reboots once RUNNING if still needed.
  let deferred = status.state !== RUNNING;
  if (status.state === RUNNING && status.configurationPending) {
    rebooted = await tryReboot(p.brokerId, deps);
    deferred = !rebooted;
  }
  return {
    PhysicalResourceId: physicalResourceId(event, p.brokerId),
    Data: {
      [DATA_REBOOTED]: String(rebooted),
      [DATA_REBOOT_DEFERRED]: String(deferred),
      [DATA_WAIT_DEADLINE]: deadline,
    },
  };
}

export async function isComplete(
  event: ConfigurationApplierEvent,
  deps: ConfigurationApplierDependencies,
): Promise<ConfigurationApplierIsCompleteResponse> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const p = parseProperties(event.ResourceProperties);
  const deadlineText = event.Data?.[DATA_WAIT_DEADLINE];
  if (!deadlineText || Number.isNaN(Date.parse(deadlineText))) {
    throw new Error(`ConfigurationApplier: isComplete called without a valid ${DATA_WAIT_DEADLINE} from onEvent (got ${JSON.stringify(deadlineText)})`);
  }
  const pastDeadline = deps.now() > Date.parse(deadlineText);

  let status: BrokerConfigurationStatus;
  try {
    status = await describe(p.brokerId, deps);
  } catch (err) {
    // A throttled poll is just a poll that learned nothing: try again next interval, until the deadline.
    if (err instanceof ThrottledError && !pastDeadline) return { IsComplete: false };
    throw err;
  }
  console.log(JSON.stringify({ phase: 'isComplete', brokerId: p.brokerId, pastDeadline, ...status }));
  if (TERMINAL_STATES.has(status.state)) throw terminalStateError(p, status);

  if (status.state === RUNNING && !status.configurationPending) {
    return {
      IsComplete: true,
      Data: {
        BrokerState: status.state,
        CurrentConfiguration: status.current ?? 'none',
        OtherPendingChanges: status.otherPendingChanges.join(',') || 'none',
      },
    };
  }
  if (pastDeadline) throw timeoutError(p, status);

  if (status.state === RUNNING && event.Data?.[DATA_REBOOT_DEFERRED] === 'true') {
    await tryReboot(p.brokerId, deps, true);
  }
  return { IsComplete: false };
}

function timeoutError(p: ParsedProperties, status: BrokerConfigurationStatus): Error {
  const minutes = Math.round(p.waitTimeoutSeconds / 60);
  const parts = [`broker state is ${status.state}`];
  parts.push(status.configurationPending
    ? `configuration ${status.pending} is still pending (current: ${status.current ?? 'none'})`
    : 'no configuration change is pending');
  if (status.actionsRequired.length > 0) parts.push(`actions required: ${status.actionsRequired.join('; ')}`);
  return new Error(
    `Amazon MQ broker ${p.brokerId} did not finish applying configuration ${p.configurationId} revision `
    + `${p.configurationRevision} within waitTimeout (${minutes} min): ${parts.join(', ')}. `
    + `Check the broker in the Amazon MQ console; once it is RUNNING, reboot it (aws mq reboot-broker --broker-id ${p.brokerId}) `
    + 'or let the next maintenance window apply the change, then retry the deployment. '
    + 'If reboots of this broker routinely take longer, raise waitTimeout.',
  );
}

/** Production dependencies: real clock and sleep. */
export function defaultDependencies(client: MqClient): ConfigurationApplierDependencies {
  return {
    client,
    sleep: ms => new Promise(resolve => setTimeout(resolve, ms)),
    now: () => Date.now(),
  };
}
