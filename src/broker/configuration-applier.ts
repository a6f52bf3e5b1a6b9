import { Annotations, CfnResource, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { ConfigurationApplierIsCompleteFunction } from './configuration-applier-is-complete-function';
import { ConfigurationApplierOnEventFunction } from './configuration-applier-on-event-function';
import { addNagSuppressions, NagRuleSuppression } from '../private/nag-suppressions';
import { validateIn } from '../private/validation-error';

/**
 * Properties for `ConfigurationApplier`.
 */
export interface ConfigurationApplierProps {
  /**
   * Id of the Amazon MQ broker to reboot (`CfnBroker.ref` / `attrId`).
   */
  readonly brokerId: string;

  /**
   * ARN of the same broker; the handlers may describe and reboot only this ARN.
   */
  readonly brokerArn: string;

  /**
   * Id of the configuration associated with the broker (`CfnConfiguration.attrId`).
   */
  readonly configurationId: string;

  /**
   * Revision of that configuration (`CfnConfiguration.attrRevision`). Passed to the custom
   * resource so that every new revision triggers an Update, hence a reboot if it is pending.
   */
  readonly configurationRevision: string;

  /**
   * How long to wait, from the start of a Create or Update, for the broker to be RUNNING with no
   * configuration change pending (including a wait for a broker that is not RUNNING at the start).
   * Past it the deployment fails with a message naming the broker, its state and what to do.
   * Between 1 and 55 minutes: CloudFormation waits at most one hour for a custom resource, and the
   * provider's own timeout is set 5 minutes later so that this clear error is the one reported.
   * Under 10 minutes a warning is added: a cluster reboot can take longer.
   *
   * @default Duration.minutes(45) - a single-instance RabbitMQ broker usually reboots in a few
   * minutes; a three-node cluster restarts its nodes one after the other and takes longer.
   */
  readonly waitTimeout?: Duration;
}

/**
 * Applies a pending Amazon MQ configuration revision now by rebooting the broker.
 *
 * Amazon MQ defers a configuration change to the next maintenance window unless the broker is
 * rebooted. On Create and Update this custom resource describes the broker and, only if a
 * configuration change is pending and the broker is RUNNING, reboots it, then waits until the
 * broker is RUNNING again with nothing pending. If the broker is not RUNNING at the start (a reboot
 * or maintenance under way, CRITICAL_ACTION_REQUIRED), it waits for RUNNING within the same
 * `waitTimeout` and reboots then if the change is still pending; CREATION_FAILED and
 * DELETION_IN_PROGRESS fail at once. Delete never reboots.
 *
 * A reboot interrupts connected clients, and also applies any other pending broker change (engine
 * version, instance type, security groups, logs) at once.
 *
 * Add a dependency on the `CfnConfigurationAssociation` (or the broker) so that the revision is
 * associated before this resource runs.
 *
 * Attributes: `Rebooted` ('true' when the Create/Update rebooted the broker at its start),
 * `RebootDeferred` ('true' when the broker was not RUNNING at the start), `CurrentConfiguration`.
 */
export class ConfigurationApplier extends Construct {
  /** Default of `waitTimeout`. */
  public static readonly DEFAULT_WAIT_TIMEOUT = Duration.minutes(45);

  /**
   * Interval between completion checks. A reboot takes minutes: polling every 30 s notices the
   * end quickly while keeping DescribeBroker calls (~90 in 45 minutes) far from API limits.
   */
  public static readonly QUERY_INTERVAL = Duration.seconds(30);

  /**
   * The custom resource.
   */
  public readonly resource: CustomResource;

  /**
   * 'true' when the broker was rebooted at the start of the last Create/Update, else 'false'.
   */
  public readonly rebooted: string;

  /**
   * @param scope Scope in which the custom resource is defined (`RabbitMqBroker` uses itself)
   * @param id Construct id, unique within `scope`
   * @param props The broker, the configuration revision to apply and how long to wait
   */
  constructor(scope: Construct, id: string, props: ConfigurationApplierProps) {
    super(scope, id);

    const waitTimeout = props.waitTimeout ?? ConfigurationApplier.DEFAULT_WAIT_TIMEOUT;
    validateIn(this, () => validateWaitTimeout(waitTimeout));
    if (!waitTimeout.isUnresolved() && waitTimeout.toSeconds() < SHORT_WAIT_TIMEOUT.toSeconds()) {
      Annotations.of(this).addWarningV2('cdk-celery:configurationApplierShortWaitTimeout',
        `waitTimeout ${waitTimeout.toHumanString()} is shorter than ${SHORT_WAIT_TIMEOUT.toHumanString()}: a three-node cluster restarts its nodes one after the other, `
        + 'and a timeout fails the deployment, whose rollback reboots the broker again to restore the previous revision.');
    }

    const handlerTimeout = Duration.minutes(2); // throttling backoff + reboot confirmation, with margin
    const onEventHandler = new ConfigurationApplierOnEventFunction(this, 'OnEventHandler', {
      description: 'cdk-celery ConfigurationApplier: reboots an Amazon MQ broker when a configuration change is pending',
      timeout: handlerTimeout,
    });
    const isCompleteHandler = new ConfigurationApplierIsCompleteFunction(this, 'IsCompleteHandler', {
      description: 'cdk-celery ConfigurationApplier: waits until the Amazon MQ broker is RUNNING with nothing pending',
      timeout: handlerTimeout,
    });
    // Both may reboot: isComplete does when the broker was not RUNNING when onEvent ran.
    const brokerAccess = new iam.PolicyStatement({
      actions: ['mq:DescribeBroker', 'mq:RebootBroker'],
      resources: [props.brokerArn],
    });
    for (const fn of [onEventHandler, isCompleteHandler]) {
      fn.addToRolePolicy(brokerAccess);
    }

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler,
      isCompleteHandler,
      queryInterval: ConfigurationApplier.QUERY_INTERVAL,
      totalTimeout: waitTimeout.plus(PROVIDER_TIMEOUT_MARGIN),
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::CdkCeleryConfigurationApplier',
      properties: {
        BrokerId: props.brokerId,
        BrokerArn: props.brokerArn,
        ConfigurationId: props.configurationId,
        ConfigurationRevision: props.configurationRevision,
        WaitTimeoutSeconds: String(waitTimeout.toSeconds()),
      },
    });
    this.rebooted = this.resource.getAttString('Rebooted');

    suppressNagFindings(onEventHandler, isCompleteHandler, provider);
  }
}

const MAX_WAIT_TIMEOUT = Duration.minutes(55);
const MIN_WAIT_TIMEOUT = Duration.minutes(1);
const PROVIDER_TIMEOUT_MARGIN = Duration.minutes(5);
const SHORT_WAIT_TIMEOUT = Duration.minutes(10);

function validateWaitTimeout(waitTimeout: Duration): void {
  if (waitTimeout.isUnresolved()) {
    // The Provider's state machine needs a number of polls at synth time.
    throw new Error('waitTimeout: a token is not allowed; use a concrete Duration between 1 minute and 55 minutes');
  }
  const seconds = waitTimeout.toSeconds();
  if (seconds < MIN_WAIT_TIMEOUT.toSeconds() || seconds > MAX_WAIT_TIMEOUT.toSeconds()) {
    throw new Error(
      `waitTimeout: ${waitTimeout.toHumanString()} is not allowed; use between ${MIN_WAIT_TIMEOUT.toHumanString()} and `
      + `${MAX_WAIT_TIMEOUT.toHumanString()} (CloudFormation waits at most 1 hour for a custom resource, and the provider `
      + `needs ${PROVIDER_TIMEOUT_MARGIN.toHumanString()} more to report the timeout clearly)`,
    );
  }
}

/** Finds a construct by path below `scope`; fails loudly if aws-cdk-lib renames it. */
function child(scope: IConstruct, path: string): IConstruct {
  let node: IConstruct = scope;
  for (const part of path.split('/')) {
    const next = node.node.tryFindChild(part);
    if (!next) {
      throw new Error(`ConfigurationApplier: expected ${scope.node.path}/${path} (aws-cdk-lib Provider layout changed?)`);
    }
    node = next;
  }
  return node;
}

const ROLE = 'AWS::IAM::Role';
const POLICY = 'AWS::IAM::Policy';
const FUNCTION = 'AWS::Lambda::Function';

function suppressNagFindings(
  onEventHandler: lambda.Function,
  isCompleteHandler: lambda.Function,
  provider: cr.Provider,
): void {
  const basicExecutionRole: NagRuleSuppression = {
    id: 'AwsSolutions-IAM4',
    reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs; it is the AWS-managed minimum for Lambda logging.',
    appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
  };
  for (const fn of [onEventHandler, isCompleteHandler]) {
    addNagSuppressions(fn.role!, [basicExecutionRole], [ROLE]);
    addNagSuppressions(fn, [{
      id: 'AwsSolutions-L1',
      reason: 'Runtime nodejs22.x is set by the projen-generated function class (lambdaOptions in .projenrc.ts); it is a supported Lambda runtime, and the bundle targets node22.',
    }], [FUNCTION]);
  }

  // The Provider framework's own functions, roles and waiter state machine (aws-cdk-lib code).
  const framework = 'aws-cdk-lib custom_resources.Provider framework';
  const invokesUserHandlers: NagRuleSuppression = {
    id: 'AwsSolutions-IAM5',
    reason: `${framework} role: lambda:InvokeFunction on "<function ARN>:*" only covers versions and aliases of this construct's own onEvent and isComplete handlers.`,
    appliesTo: [
      `Resource::<${logicalId(onEventHandler)}.Arn>:*`,
      `Resource::<${logicalId(isCompleteHandler)}.Arn>:*`,
    ],
  };
  for (const fn of ['framework-onEvent', 'framework-isComplete', 'framework-onTimeout']) {
    addNagSuppressions(child(provider, fn), [{
      id: 'AwsSolutions-L1',
      reason: `${framework} function: its runtime is chosen by aws-cdk-lib (the latest Node.js runtime it knows for the Region) and cannot be set through Provider.`,
    }], [FUNCTION]);
    addNagSuppressions(child(provider, `${fn}/ServiceRole`), [basicExecutionRole], [ROLE]);
    addNagSuppressions(child(provider, `${fn}/ServiceRole/DefaultPolicy`), [invokesUserHandlers], [POLICY]);
  }
  addNagSuppressions(child(provider, 'waiter-state-machine/Role/DefaultPolicy'), [{
    id: 'AwsSolutions-IAM5',
    reason: `${framework} waiter role: lambda:InvokeFunction on "<function ARN>:*" only covers versions and aliases of the framework's own isComplete and onTimeout functions in this construct.`,
    appliesTo: [
      `Resource::<${logicalId(child(provider, 'framework-isComplete'))}.Arn>:*`,
      `Resource::<${logicalId(child(provider, 'framework-onTimeout'))}.Arn>:*`,
    ],
  }], [POLICY]);
  addNagSuppressions(child(provider, 'waiter-state-machine'), [
    { id: 'AwsSolutions-SF1', reason: `${framework} waiter state machine: it only re-invokes isComplete on a timer; every isComplete invocation is logged by the Lambda functions themselves.` },
    { id: 'AwsSolutions-SF2', reason: `${framework} waiter state machine: X-Ray tracing cannot be enabled through Provider, and its two Lambda tasks are logged.` },
  ], ['AWS::StepFunctions::StateMachine']);
}

/** The logical id of a function as cdk-nag prints it in findings (`<LogicalId.Arn>`). */
function logicalId(fn: IConstruct): string {
  const resource = fn.node.defaultChild as CfnResource;
  return Stack.of(resource).getLogicalId(resource);
}
