import { usernameError, vhostNameError } from './broker-user-names';
import { deliveryLimitError, VHOST_QUEUE_TYPES } from './celery-dead-letter';
import { removeDeadLetterPolicy, setUpDeadLettering } from './dead-letter-setup';
import { ManagementRetryOptions, passwordMatchesHash, RabbitMqManagementClient, VhostPermissions } from './rabbitmq-management-client';
import { putVhostWithDefaultQueueType } from './vhost-default-queue-type';

/**
 * Logic of the broker-user custom resource, apart from the Lambda entry point so tests can run
 * it against a real RabbitMQ with their own secret source.
 *
 * Delete removes the user only while it is still this resource's: while its password is still
 * this resource's secret's. When the construct is replaced (new id or path), CloudFormation
 * creates the new resource first, which sets the same user's password from its own new secret,
 * then deletes the old resource with the same physical id: that Delete finds another password
 * and leaves the user, its permissions and the vhost to their new owner.
 */

/** The custom resource's properties, as CloudFormation passes them (all strings). */
export interface BrokerUserProperties {
  /** Base URL of the management API, `https://HOST:443` on Amazon MQ. */
  readonly ManagementUrl: string;
  /** Secret with the admin's `username` and `password`. */
  readonly AdminSecretArn: string;
  /** Secret with the application user's `username`, `password` and `vhost`. */
  readonly UserSecretArn: string;
  readonly Vhost: string;
  readonly Username: string;
  readonly Configure: string;
  readonly Write: string;
  readonly Read: string;
  /** 'true' to delete the vhost (and every message in it) with the resource. */
  readonly RemoveVhostOnDelete?: string;
  /** Timeout of each management API request, in milliseconds. */
  readonly RequestTimeoutMs?: string;
  /**
   * Comma-separated user tags, for example `monitoring` (read-only management API access).
   * Absent or empty for the application user, which never uses the management API.
   */
  readonly Tags?: string;
  /** The vhost's `default_queue_type` (`quorum` or `classic`); absent: the broker's default is left alone. */
  readonly DefaultQueueType?: string;
  /**
   * Redeliveries before a task of `TaskQueuePattern` is dead-lettered (see dead-letter-setup.ts);
   * absent: no dead-lettering is set up.
   */
  readonly DeliveryLimit?: string;
  /** Regular expression of the task queues the dead-letter policy applies to (with `DeliveryLimit`). */
  readonly TaskQueuePattern?: string;
}

/** The subset of a CloudFormation custom resource event the handler uses. */
export interface BrokerUserEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: BrokerUserProperties;
  readonly OldResourceProperties?: BrokerUserProperties;
}

export interface BrokerUserResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { [key: string]: string };
}

export interface BrokerUserDependencies {
  /** Returns the SecretString of a Secrets Manager secret. */
  readonly getSecretString: (secretArn: string) => Promise<string>;
  /** Progress messages (CloudWatch Logs in Lambda). Never given secrets. */
  readonly log?: (message: string) => void;
  /** Retries of transient management API failures (the Lambda entry sets the deadline from its remaining time). */
  readonly retry?: ManagementRetryOptions;
}

interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The physical id names the user, the broker and the vhost: changing the user name or the vhost
 * makes CloudFormation create the new one, then delete the old one.
 */
export function brokerUserPhysicalId(props: BrokerUserProperties): string {
  return `${props.Username}@${hostOf(props.ManagementUrl)}/${props.Vhost}`;
}

export async function handleBrokerUserEvent(event: BrokerUserEvent, deps: BrokerUserDependencies): Promise<BrokerUserResponse> {
  const props = event.ResourceProperties;
  const log = deps.log ?? (() => undefined);

  if (event.RequestType === 'Delete') {
    return deleteUser(event, deps, log);
  }

  const nameError = vhostError(props) ?? usernameError('username', props.Username);
  if (nameError) throw new Error(nameError);
  hostOf(props.ManagementUrl);
  if (props.DefaultQueueType !== undefined && !VHOST_QUEUE_TYPES.includes(props.DefaultQueueType)) {
    throw new Error(`DefaultQueueType: ${JSON.stringify(props.DefaultQueueType)} is not a queue type this resource sets; use ${VHOST_QUEUE_TYPES.join(' or ')}.`);
  }
  const deadLettering = deadLetteringOf(props);

  const admin = await readCredentials(deps, props.AdminSecretArn, 'admin credentials secret');
  const user = await readCredentials(deps, props.UserSecretArn, 'application user secret');
  if (props.Username === admin.username) {
    throw new Error(`username: "${props.Username}" is the broker's admin user; the application user must be a different user (this resource would strip the admin's tags and permissions).`);
  }

  const client = clientFor(props, admin, deps);
  const me = await client.whoAmI();
  log(`Connected to ${props.ManagementUrl} as ${me.name} (tags: ${me.tags.join(',') || 'none'})`);

  const tags = tagsOf(props);
  const existing = await client.getUser(props.Username);
  const foreignTags = existing?.tags.filter((t) => !tags.includes(t)) ?? [];
  if (foreignTags.length > 0) {
    throw new Error(`username: a user "${props.Username}" already exists on the broker with tags ${existing!.tags.join(',')}; `
      + `it was not created by this resource (whose user has ${tags.length > 0 ? `only the tags ${tags.join(',')}` : 'no tags'}). Choose another username.`);
  }

  await putVhostWithDefaultQueueType(client, props.Vhost, props.DefaultQueueType, log);
  // No tags (the application user): AMQP only, no management UI or API. `monitoring`: read-only API.
  await client.putUser(props.Username, user.password, tags);
  await client.putPermissions(props.Vhost, props.Username, permissionsOf(props));
  if (deadLettering) {
    await setUpDeadLettering(client, props.Vhost, deadLettering.taskQueuePattern, deadLettering.deliveryLimit, log);
  } else if (event.OldResourceProperties?.DeliveryLimit !== undefined && event.OldResourceProperties.Vhost === props.Vhost) {
    // Only the update that turns it off: other resources on the vhost (a monitoring user) never had it.
    await removeDeadLetterPolicy(client, props.Vhost, log);
  }

  // Permissions on that vhost only, whatever happened to the user before (e.g. an older vhost).
  for (const p of await client.listUserPermissions(props.Username)) {
    if (p.vhost !== props.Vhost) {
      log(`Removing permissions of ${props.Username} on vhost ${p.vhost}`);
      await client.deletePermissions(p.vhost, props.Username);
    }
  }
  log(`${event.RequestType}: user ${props.Username} has permissions on vhost ${props.Vhost} only`);

  return {
    PhysicalResourceId: brokerUserPhysicalId(props),
    Data: { Vhost: props.Vhost, Username: props.Username },
  };
}

async function deleteUser(event: BrokerUserEvent, deps: BrokerUserDependencies, log: (m: string) => void): Promise<BrokerUserResponse> {
  const props = event.ResourceProperties;
  const physicalId = event.PhysicalResourceId ?? '';
  // A failed Create rolls back with a Delete for an id this handler never returned: nothing was made.
  if (vhostError(props) || usernameError('username', props.Username) || physicalId !== brokerUserPhysicalId(props)) {
    log(`Delete of ${physicalId}: not a user this resource created; nothing to do`);
    return { PhysicalResourceId: physicalId };
  }

  const admin = await readCredentials(deps, props.AdminSecretArn, 'admin credentials secret');
  const client = clientFor(props, admin, deps);

  if (!await stillThisResourcesUser(client, props, deps, log)) {
    log(`Kept user ${props.Username}${props.RemoveVhostOnDelete === 'true' ? ` and vhost ${props.Vhost}` : ''}: its password is no longer `
      + 'this resource\'s secret\'s, so another resource (this construct\'s replacement) has taken it over');
    return { PhysicalResourceId: physicalId };
  }

  // After a vhost change the same user now works in the new vhost: only drop the old permissions.
  const permissions = await client.listUserPermissions(props.Username).catch((e) => {
    if (isNotFound(e)) return [];
    throw e;
  });
  const elsewhere = permissions.filter((p) => p.vhost !== props.Vhost);
  if (elsewhere.length > 0) {
    await client.deletePermissions(props.Vhost, props.Username);
    log(`Kept user ${props.Username}: it has permissions on ${elsewhere.map((p) => p.vhost).join(', ')}`);
  } else {
    const deleted = await client.deleteUser(props.Username);
    log(deleted ? `Deleted user ${props.Username}` : `User ${props.Username} was already gone`);
  }

  if (props.RemoveVhostOnDelete === 'true') {
    // Another user still working there (e.g. the new user after a rename) keeps the vhost alive.
    const others = (await vhostUsers(client, props.Vhost)).filter((u) => u !== props.Username && u !== admin.username);
    if (others.length > 0) {
      log(`Kept vhost ${props.Vhost}: users ${others.join(', ')} still have permissions on it`);
    } else {
      const deleted = await client.deleteVhost(props.Vhost);
      log(deleted ? `Deleted vhost ${props.Vhost}` : `Vhost ${props.Vhost} was already gone`);
    }
  } else {
    log(`Kept vhost ${props.Vhost} (removeVhostOnDelete is off; its queues may hold work)`);
  }
  return { PhysicalResourceId: physicalId };
}

/**
 * Whether the user is still the one this resource made (its password is this resource's
 * secret's), or is gone. True, with a log, when the broker's hash cannot be checked.
 */
async function stillThisResourcesUser(
  client: RabbitMqManagementClient, props: BrokerUserProperties, deps: BrokerUserDependencies, log: (m: string) => void,
): Promise<boolean> {
  const stored = await client.getUserPasswordHash(props.Username);
  if (!stored) return true;
  // The secret is this construct's own and is deleted after this resource, so it is readable on
  // every Delete CloudFormation sends; if someone removed it by hand, failing would leave the stack
  // stuck in DELETE_FAILED, so the user is deleted as before.
  let user: Credentials;
  try {
    user = await readCredentials(deps, props.UserSecretArn, 'application user secret');
  } catch (e) {
    log(`Cannot tell whether user ${props.Username} is still this resource's: ${(e as Error).message}; deleting it as owned`);
    return true;
  }
  const matches = passwordMatchesHash(user.password, stored);
  if (matches === undefined) {
    log(`Cannot tell whether user ${props.Username} is still this resource's: the broker returned hashing algorithm `
      + `${JSON.stringify(stored.hashingAlgorithm)}${stored.passwordHash === undefined ? ' and no password hash' : ''}; deleting it as owned`);
    return true;
  }
  return matches;
}

async function vhostUsers(client: RabbitMqManagementClient, vhost: string): Promise<string[]> {
  try {
    return (await client.listVhostPermissions(vhost)).map((p) => p.user);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

function clientFor(props: BrokerUserProperties, admin: Credentials, deps: BrokerUserDependencies): RabbitMqManagementClient {
  const timeout = props.RequestTimeoutMs ? Number(props.RequestTimeoutMs) : undefined;
  return new RabbitMqManagementClient({ baseUrl: props.ManagementUrl, credentials: admin, requestTimeoutMs: timeout, retry: deps.retry });
}

/**
 * The vhost must be one this library accepts; a read-only user (with tags, and no permission on
 * any resource) may also read the default vhost `/`, which the application user never works in.
 */
function vhostError(props: BrokerUserProperties): string | undefined {
  const readOnly = (props.Tags ?? '').trim().length > 0 && props.Configure === '' && props.Write === '' && props.Read === '';
  return readOnly && props.Vhost === '/' ? undefined : vhostNameError('vhost', props.Vhost);
}

/** Tags RabbitMQ knows; anything else in `Tags` is refused rather than created silently. */
const KNOWN_TAGS = ['monitoring', 'management', 'policymaker', 'administrator', 'impersonator'];

function tagsOf(props: BrokerUserProperties): string[] {
  const tags = (props.Tags ?? '').split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  for (const tag of tags) {
    if (!KNOWN_TAGS.includes(tag)) throw new Error(`Tags: ${JSON.stringify(tag)} is not a RabbitMQ user tag; use ${KNOWN_TAGS.join(', ')}.`);
  }
  return tags;
}

/** The dead-letter settings, validated before any request; undefined when none are asked for. */
function deadLetteringOf(props: BrokerUserProperties): { deliveryLimit: number; taskQueuePattern: string } | undefined {
  if (props.DeliveryLimit === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(props.DeliveryLimit)) {
    throw new Error(`DeliveryLimit: ${JSON.stringify(props.DeliveryLimit)} is not a whole number of redeliveries.`);
  }
  const deliveryLimit = Number(props.DeliveryLimit);
  const error = deliveryLimitError('DeliveryLimit', deliveryLimit);
  if (error) throw new Error(error);
  if (!props.TaskQueuePattern) throw new Error('TaskQueuePattern: required with DeliveryLimit (the task queues the dead-letter policy applies to).');
  return { deliveryLimit, taskQueuePattern: props.TaskQueuePattern };
}

function permissionsOf(props: BrokerUserProperties): VhostPermissions {
  return { configure: props.Configure, write: props.Write, read: props.Read };
}

async function readCredentials(deps: BrokerUserDependencies, arn: string, what: string): Promise<Credentials> {
  const text = await deps.getSecretString(arn);
  let parsed: { username?: unknown; password?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`The ${what} (${arn}) is not JSON; it must be {"username": ..., "password": ...}.`);
  }
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string' || parsed.password.length === 0) {
    throw new Error(`The ${what} (${arn}) must hold string "username" and "password" keys.`);
  }
  return { username: parsed.username, password: parsed.password };
}

function hostOf(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new Error(`ManagementUrl: ${JSON.stringify(url)} is not a URL; expected something like https://HOST:443.`);
  }
  return parsed.host;
}

function isNotFound(e: unknown): boolean {
  return (e as { status?: number })?.status === 404;
}
