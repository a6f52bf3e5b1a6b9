import {
  BadRequestException,
  DescribeBrokerCommand,
  DescribeBrokerResponse,
  ForbiddenException,
  MqClient,
  RebootBrokerCommand,
} from '@aws-sdk/client-mq';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  analyzeBroker,
  ConfigurationApplierDependencies,
  ConfigurationApplierEvent,
  isComplete,
  isThrottlingError,
  onEvent,
} from '../../src/broker/configuration-applier-handler';
import { handler as isCompleteEntryPoint } from '../../src/broker/configuration-applier-is-complete.lambda';
import { handler as onEventEntryPoint } from '../../src/broker/configuration-applier-on-event.lambda';

const mq = mockClient(MqClient);
const BROKER_ID = 'b-1234';
const START = Date.parse('2026-01-01T00:00:00.000Z');
const WAIT_SECONDS = 2700;

let clock: number;
let sleeps: number[];
let deps: ConfigurationApplierDependencies;

beforeEach(() => {
  mq.reset();
  clock = START;
  sleeps = [];
  deps = {
    client: new MqClient({ region: 'eu-west-1' }),
    sleep: async (ms: number) => { sleeps.push(ms); },
    now: () => clock,
    rebootConfirmAttempts: 3,
    rebootConfirmDelayMs: 2_000,
  };
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});

afterEach(() => jest.restoreAllMocks());

function broker(
  state: string,
  current: number,
  pending: number | undefined,
  extra: Partial<DescribeBrokerResponse> = {},
): DescribeBrokerResponse {
  return {
    BrokerId: BROKER_ID,
    BrokerState: state as DescribeBrokerResponse['BrokerState'],
    Configurations: {
      Current: { Id: 'c-1', Revision: current },
      ...(pending === undefined ? {} : { Pending: { Id: 'c-1', Revision: pending } }),
    },
    ...extra,
  };
}

function event(requestType: 'Create' | 'Update' | 'Delete', data?: { [key: string]: string }): ConfigurationApplierEvent {
  return {
    RequestType: requestType,
    PhysicalResourceId: requestType === 'Create' ? undefined : `${BROKER_ID}-configuration-applier`,
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
      BrokerId: BROKER_ID,
      BrokerArn: `arn:aws:mq:eu-west-1:123456789012:broker:celery:${BROKER_ID}`,
      ConfigurationId: 'c-1',
      ConfigurationRevision: '3',
      WaitTimeoutSeconds: String(WAIT_SECONDS),
    },
    Data: data,
  };
}

/** Runs onEvent, then builds the event the Provider framework passes to isComplete. */
async function start(requestType: 'Create' | 'Update') {
  const response = await onEvent(event(requestType), deps);
  return { response, next: { ...event(requestType, response.Data), PhysicalResourceId: response.PhysicalResourceId } };
}

function throttle(name = 'ThrottlingException', status = 400): Error {
  return Object.assign(new Error('Rate exceeded'), { name, $metadata: { httpStatusCode: status } });
}

describe('analyzeBroker: is a configuration change pending?', () => {
  test.each([
    ['Pending equal to Current', broker('RUNNING', 3, 3), false],
    ['no Pending at all', broker('RUNNING', 3, undefined), false],
    ['newer revision pending', broker('RUNNING', 2, 3), true],
    ['other configuration pending', { BrokerState: 'RUNNING', Configurations: { Current: { Id: 'c-0', Revision: 3 }, Pending: { Id: 'c-1', Revision: 3 } } } as DescribeBrokerResponse, true],
    ['pending but no current', { BrokerState: 'RUNNING', Configurations: { Pending: { Id: 'c-1', Revision: 1 } } } as DescribeBrokerResponse, true],
  ])('%s', (_name, response, expected) => {
    expect(analyzeBroker(response).configurationPending).toBe(expected);
  });

  test('lists other pending changes a reboot would also apply, without treating them as configuration changes', () => {
    const status = analyzeBroker(broker('RUNNING', 3, 3, {
      PendingEngineVersion: '4.2',
      PendingHostInstanceType: 'mq.m7g.large',
      PendingSecurityGroups: ['sg-1'],
      Logs: { General: true, GeneralLogGroup: 'g', Pending: { General: false } },
    }));
    expect(status.configurationPending).toBe(false);
    expect(status.otherPendingChanges).toEqual([
      'PendingEngineVersion=4.2', 'PendingHostInstanceType=mq.m7g.large', 'PendingSecurityGroups', 'Logs.Pending',
    ]);
  });

  test('every other pending change is named, and actions required read "code: info"', () => {
    const status = analyzeBroker(broker('RUNNING', 3, 3, {
      PendingAuthenticationStrategy: 'LDAP',
      PendingLdapServerMetadata: { Hosts: ['ldap.example.com'], RoleBase: 'r', RoleSearchMatching: 'm', ServiceAccountUsername: 'u', UserBase: 'b', UserSearchMatching: 'm' },
      PendingDataReplicationMode: 'CRDR',
      ActionsRequired: [
        { ActionRequiredCode: 'CONFIGURATION_ACTIVATION', ActionRequiredInfo: 'reboot to apply' },
        { ActionRequiredCode: 'ENGINE_UPGRADE' },
        { ActionRequiredInfo: 'info only' },
        {},
      ],
    }));
    expect(status.otherPendingChanges).toEqual(['PendingAuthenticationStrategy', 'PendingLdapServerMetadata', 'PendingDataReplicationMode']);
    expect(status.actionsRequired).toEqual(['CONFIGURATION_ACTIVATION: reboot to apply', 'ENGINE_UPGRADE', 'info only']);
    expect(status.current).toBe('c-1 revision 3');
    expect(status.pending).toBeUndefined();
  });

  test('a broker that reports nothing is UNKNOWN, with no current configuration and no actions', () => {
    expect(analyzeBroker({})).toEqual({
      state: 'UNKNOWN', configurationPending: false, current: undefined, pending: undefined, otherPendingChanges: [], actionsRequired: [],
    });
  });

  test.each([
    [throttle(), true],
    [throttle('TooManyRequestsException', 429), true],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } }), true],
    // The SDK's retry classification alone (a throttling error of another name, status 400).
    [Object.assign(new Error('x'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 400 }, $retryable: { throttling: true } }), true],
    [Object.assign(new Error('x'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 }, $retryable: { throttling: false } }), false],
    [new BadRequestException({ message: 'bad', $metadata: {} }), false],
    [new Error('boom'), false],
    [undefined, false],
    [null, false],
    ['ThrottlingException', false],
  ])('isThrottlingError(%p) is %p', (err, expected) => {
    expect(isThrottlingError(err)).toBe(expected);
  });
});

describe('Create', () => {
  test('broker RUNNING with nothing pending: no reboot, complete at the first check', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('RUNNING', 3, 3));
    const { response, next } = await start('Create');
    expect(response).toEqual({
      PhysicalResourceId: `${BROKER_ID}-configuration-applier`,
      Data: { Rebooted: 'false', RebootDeferred: 'false', WaitDeadline: new Date(START + WAIT_SECONDS * 1000).toISOString() },
    });
    await expect(isComplete(next, deps)).resolves.toEqual({
      IsComplete: true,
      Data: { BrokerState: 'RUNNING', CurrentConfiguration: 'c-1 revision 3', OtherPendingChanges: 'none' },
    });
    expect(mq).toHaveReceivedCommandWith(DescribeBrokerCommand, { BrokerId: BROKER_ID });
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });

  test('a broker that failed to create fails at once, naming the broker and the state', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('CREATION_FAILED', 3, 3));
    await expect(onEvent(event('Create'), deps)).rejects.toThrow(
      /Amazon MQ broker b-1234 is in state CREATION_FAILED; ConfigurationApplier cannot apply configuration c-1 revision 3.*Fix or replace the broker/,
    );
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });
});

describe('Update', () => {
  test('with a pending change: reboots once, incomplete while rebooting, complete when RUNNING with nothing pending', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('RUNNING', 2, 3)) // onEvent decides
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)) // reboot confirmation
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)) // isComplete #1
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 3, 3)) // isComplete #2
      .resolves(broker('RUNNING', 3, 3)); // isComplete #3
    mq.on(RebootBrokerCommand).resolves({});

    const { response, next } = await start('Update');
    expect(response.Data).toMatchObject({ Rebooted: 'true', RebootDeferred: 'false' });
    expect(mq).toHaveReceivedCommandTimes(RebootBrokerCommand, 1);
    expect(mq).toHaveReceivedCommandWith(RebootBrokerCommand, { BrokerId: BROKER_ID });

    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toMatchObject({ IsComplete: true, Data: { CurrentConfiguration: 'c-1 revision 3' } });
    expect(mq).toHaveReceivedCommandTimes(RebootBrokerCommand, 1);
  });

  test('the reboot confirmation polls until the broker leaves RUNNING (RebootBroker is asynchronous)', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('RUNNING', 2, 3))
      .resolvesOnce(broker('RUNNING', 2, 3))
      .resolves(broker('REBOOT_IN_PROGRESS', 2, 3));
    mq.on(RebootBrokerCommand).resolves({});
    await onEvent(event('Update'), deps);
    expect(mq).toHaveReceivedCommandTimes(DescribeBrokerCommand, 3);
    expect(sleeps).toEqual([2_000]);
  });

  test('throttled reboot confirmations do not fail an operation whose reboot was already requested', async () => {
    mq.on(DescribeBrokerCommand).resolvesOnce(broker('RUNNING', 2, 3)).rejects(throttle());
    mq.on(RebootBrokerCommand).resolves({});
    const response = await onEvent(event('Update'), deps);
    expect(response.Data).toMatchObject({ Rebooted: 'true', RebootDeferred: 'false' });
    expect(mq).toHaveReceivedCommandTimes(DescribeBrokerCommand, 1 + 3); // decision + 3 confirmation checks
    expect(sleeps).toEqual([2_000, 2_000, 2_000]);
  });

  test('after its reboot, a broker still RUNNING with the change pending is waited for, never rebooted twice', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('RUNNING', 2, 3));
    mq.on(RebootBrokerCommand).resolves({});
    const { next } = await start('Update');
    for (let i = 0; i < 3; i++) {
      clock += 30_000;
      await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    }
    expect(mq).toHaveReceivedCommandTimes(RebootBrokerCommand, 1);
  });

  test.each([
    ['Pending equal to Current', broker('RUNNING', 3, 3)],
    ['no Pending', broker('RUNNING', 3, undefined)],
    ['only an engine version pending', broker('RUNNING', 3, 3, { PendingEngineVersion: '4.2' })],
  ])('without a pending configuration change (%s): no reboot', async (_name, response) => {
    mq.on(DescribeBrokerCommand).resolves(response);
    const { response: r, next } = await start('Update');
    expect(r.Data).toMatchObject({ Rebooted: 'false', RebootDeferred: 'false' });
    await expect(isComplete(next, deps)).resolves.toMatchObject({ IsComplete: true });
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });

  test('a non-throttling API error is not retried and surfaces as is', async () => {
    mq.on(DescribeBrokerCommand).rejects(new ForbiddenException({ message: 'not authorized for mq:DescribeBroker', $metadata: {} }));
    await expect(onEvent(event('Update'), deps)).rejects.toThrow('not authorized for mq:DescribeBroker');
    expect(mq).toHaveReceivedCommandTimes(DescribeBrokerCommand, 1);
  });

  test('missing resource properties fail with the property name', async () => {
    const bad = { ...event('Update'), ResourceProperties: { ...event('Update').ResourceProperties, BrokerId: undefined } };
    await expect(onEvent(bad, deps)).rejects.toThrow(/resource property BrokerId is missing/);
  });

  test.each(['0', '-60', 'soon', 'Infinity', ''])('WaitTimeoutSeconds %j is refused before any call', async (waitTimeout) => {
    const bad = { ...event('Update'), ResourceProperties: { ...event('Update').ResourceProperties, WaitTimeoutSeconds: waitTimeout } };
    await expect(onEvent(bad, deps)).rejects.toThrow(`ConfigurationApplier: WaitTimeoutSeconds must be a positive number, got ${JSON.stringify(waitTimeout)}`);
    expect(mq).not.toHaveReceivedCommand(DescribeBrokerCommand);
  });

  test('a WaitTimeoutSeconds number (not text) is read as such', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('RUNNING', 3, 3));
    const numeric = { ...event('Update'), ResourceProperties: { ...event('Update').ResourceProperties, WaitTimeoutSeconds: 60 } };
    await expect(onEvent(numeric as unknown as ConfigurationApplierEvent, deps)).resolves.toMatchObject({ Data: { Rebooted: 'false' } });
  });
});

describe('broker not RUNNING at the start: wait for RUNNING within waitTimeout, then reboot if still pending', () => {
  test('reboot already under way elsewhere, change still pending afterwards: reboots once when RUNNING', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)) // onEvent
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)) // isComplete #1: wait
      .resolvesOnce(broker('RUNNING', 2, 3)) // isComplete #2: reboot now
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)) // reboot confirmation
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)) // isComplete #3
      .resolves(broker('RUNNING', 3, 3)); // isComplete #4
    mq.on(RebootBrokerCommand).resolves({});

    const { response, next } = await start('Update');
    expect(response.Data).toMatchObject({ Rebooted: 'false', RebootDeferred: 'true' });
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);

    const results = [];
    for (let i = 0; i < 4; i++) {
      clock += 30_000;
      results.push((await isComplete(next, deps)).IsComplete);
    }
    expect(results).toEqual([false, false, false, true]);
    expect(mq).toHaveReceivedCommandTimes(RebootBrokerCommand, 1);
  });

  test('the other reboot applied the change: completes without rebooting', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3))
      .resolves(broker('RUNNING', 3, 3));
    const { next } = await start('Update');
    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toMatchObject({ IsComplete: true });
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });

  test('a refused deferred reboot (broker left RUNNING meanwhile) is decided again at the next poll', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3))
      .resolves(broker('RUNNING', 2, 3));
    mq.on(RebootBrokerCommand).rejects(new BadRequestException({ message: 'Broker is not in RUNNING state', $metadata: {} }));
    const { next } = await start('Update');
    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    expect(mq).toHaveReceivedCommandTimes(RebootBrokerCommand, 2);
  });

  test('CRITICAL_ACTION_REQUIRED until the deadline: fails naming the action codes', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('CRITICAL_ACTION_REQUIRED', 2, 3, {
      ActionsRequired: [{ ActionRequiredCode: 'RABBITMQ_MEMORY_ALARM', ActionRequiredInfo: 'memory alarm' }],
    }));
    const { next } = await start('Update');
    clock += 30_000;
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    clock = START + WAIT_SECONDS * 1000 + 1;
    await expect(isComplete(next, deps)).rejects.toThrow(/state is CRITICAL_ACTION_REQUIRED.*actions required: RABBITMQ_MEMORY_ALARM: memory alarm/);
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });

  test('DELETION_IN_PROGRESS during the wait fails at once', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3))
      .resolves(broker('DELETION_IN_PROGRESS', 2, 3));
    const { next } = await start('Update');
    await expect(isComplete(next, deps)).rejects.toThrow(/broker b-1234 is in state DELETION_IN_PROGRESS/);
  });
});

describe('throttling', () => {
  test('DescribeBroker and RebootBroker throttles are retried with growing backoff, then succeed', async () => {
    mq.on(DescribeBrokerCommand)
      .rejectsOnce(throttle())
      .rejectsOnce(throttle('TooManyRequestsException', 429))
      .resolvesOnce(broker('RUNNING', 2, 3))
      .resolves(broker('REBOOT_IN_PROGRESS', 2, 3));
    mq.on(RebootBrokerCommand).rejectsOnce(throttle('TooManyRequestsException', 429)).resolves({});
    const response = await onEvent(event('Update'), deps);
    expect(response.Data).toMatchObject({ Rebooted: 'true' });
    expect(sleeps).toEqual([1_000, 2_000, 1_000]);
    expect(mq).toHaveReceivedCommandTimes(RebootBrokerCommand, 2);
  });

  test('a persistent throttle in onEvent fails clearly after the bounded retries', async () => {
    mq.on(DescribeBrokerCommand).rejects(throttle());
    await expect(onEvent(event('Update'), deps)).rejects.toThrow(
      /Amazon MQ throttled DescribeBroker for broker b-1234 on all 5 attempts \(ThrottlingException\).*Retry the deployment later/,
    );
    expect(mq).toHaveReceivedCommandTimes(DescribeBrokerCommand, 5);
    expect(sleeps).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });

  test('a throttled isComplete poll is "not complete yet" before the deadline and a clear failure after it', async () => {
    mq.on(DescribeBrokerCommand).resolvesOnce(broker('RUNNING', 3, 3)).rejects(throttle());
    const { next } = await start('Update');
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    clock = START + WAIT_SECONDS * 1000 + 1;
    await expect(isComplete(next, deps)).rejects.toThrow(/throttled DescribeBroker for broker b-1234/);
  });
});

describe('timeout', () => {
  test('isComplete past waitTimeout fails naming the broker, its state, the pending revision and what to do', async () => {
    mq.on(DescribeBrokerCommand)
      .resolvesOnce(broker('RUNNING', 2, 3))
      .resolves(broker('REBOOT_IN_PROGRESS', 2, 3));
    mq.on(RebootBrokerCommand).resolves({});
    const { next } = await start('Update');
    clock = START + WAIT_SECONDS * 1000 - 1;
    await expect(isComplete(next, deps)).resolves.toEqual({ IsComplete: false });
    clock = START + WAIT_SECONDS * 1000 + 1;
    await expect(isComplete(next, deps)).rejects.toThrow(
      'Amazon MQ broker b-1234 did not finish applying configuration c-1 revision 3 within waitTimeout (45 min): '
      + 'broker state is REBOOT_IN_PROGRESS, configuration c-1 revision 3 is still pending (current: c-1 revision 2). '
      + 'Check the broker in the Amazon MQ console; once it is RUNNING, reboot it (aws mq reboot-broker --broker-id b-1234) '
      + 'or let the next maintenance window apply the change, then retry the deployment. '
      + 'If reboots of this broker routinely take longer, raise waitTimeout.',
    );
  });

  test('a broker that is done at the deadline still completes', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('RUNNING', 3, 3));
    const { next } = await start('Update');
    clock = START + WAIT_SECONDS * 1000 + 60_000;
    await expect(isComplete(next, deps)).resolves.toMatchObject({ IsComplete: true });
  });

  test('no deferred reboot is started past the deadline', async () => {
    mq.on(DescribeBrokerCommand).resolvesOnce(broker('REBOOT_IN_PROGRESS', 2, 3)).resolves(broker('RUNNING', 2, 3));
    const { next } = await start('Update');
    clock = START + WAIT_SECONDS * 1000 + 1;
    await expect(isComplete(next, deps)).rejects.toThrow(/state is RUNNING, configuration c-1 revision 3 is still pending/);
    expect(mq).not.toHaveReceivedCommand(RebootBrokerCommand);
  });
});

describe('Delete', () => {
  test('never calls Amazon MQ, keeps the physical id and completes at once', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('RUNNING', 2, 3));
    const response = await onEvent(event('Delete'), deps);
    expect(response).toEqual({ PhysicalResourceId: `${BROKER_ID}-configuration-applier` });
    await expect(isComplete({ ...event('Delete'), ...response }, deps)).resolves.toEqual({ IsComplete: true });
    expect(mq.calls()).toHaveLength(0);
  });
});

describe('Lambda entry points', () => {
  test('onEvent and isComplete entry points delegate to the handler logic with a real MQ client', async () => {
    mq.on(DescribeBrokerCommand).resolves(broker('RUNNING', 3, 3));
    const response = await onEventEntryPoint(event('Create'));
    expect(response.Data).toMatchObject({ Rebooted: 'false' });
    await expect(isCompleteEntryPoint({ ...event('Create', response.Data) })).resolves.toMatchObject({ IsComplete: true });
    expect(mq).toHaveReceivedCommandTimes(DescribeBrokerCommand, 2);
  });
});
