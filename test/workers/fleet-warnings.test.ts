import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CeleryPool, CeleryQueueType, CeleryWorkerFleetProps, WorkerCode } from '../../src/workers';
import { fleetWarnings, LARGE_FLEET_WARNING_CAPACITY } from '../../src/workers/fleet-warnings';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';

jest.setTimeout(60_000);

const { stack, vpc, broker } = stackWithBroker('S');
const base: CeleryWorkerFleetProps = {
  vpc, broker, app: 'proj', timeLimit: Duration.minutes(5), code: WorkerCode.preinstalled({ celeryExecutable: '/opt/app/bin/celery', workingDirectory: '/opt/app' }),
};
const context = { maxCapacity: 4, stopTimeout: Duration.minutes(6) };
const ids = (props: Partial<CeleryWorkerFleetProps>, ctx = context) => fleetWarnings({ ...base, ...props }, ctx).map((w) => w.id);

test('safe props with a time limit: no warning', () => {
  expect(ids({})).toEqual([]);
});

test.each<[string, Partial<CeleryWorkerFleetProps>]>([
  ['nativeDelayedDeliveryOff', { nativeDelayedDelivery: false }],
  ['remoteControlOff', { enableRemoteControl: false }],
  ['heartbeatEvents', { enableHeartbeatEvents: true }],
  ['gossip', { enableGossip: true }],
  ['mingle', { enableMingle: true, acknowledgeMingleBrokerTraffic: true }],
  ['noTimeLimit', { timeLimit: undefined }],
  ['timeLimitOverConsumerTimeout', { timeLimit: Duration.hours(25) }],
  ['threadsWithAcksLate', { pool: CeleryPool.THREADS }],
  ['sshKeyPair', { keyPair: ec2.KeyPair.fromKeyPairName(stack, 'Key', 'ops') }],
])('%s, from its prop alone', (id, props) => {
  expect(ids(props)).toEqual([id]);
});

test('the broker\'s unknown engine version, unless a queue type is set', () => {
  const imported = importedBroker(stack, { engineVersion: undefined }, 'Imported');
  expect(ids({ broker: imported })).toContain('engineVersionUnknown');
  expect(ids({ broker: imported, queueType: CeleryQueueType.CLASSIC })).not.toContain('engineVersionUnknown');
});

test('the context is quoted: maxCapacity and the stop timeout', () => {
  const warnings = fleetWarnings({ ...base, timeLimit: undefined, enableGossip: true }, { maxCapacity: 7, stopTimeout: Duration.minutes(30) });
  expect(warnings.find((w) => w.id === 'gossip')!.message).toContain('(49 at maxCapacity)');
  expect(warnings.find((w) => w.id === 'noTimeLimit')!.message).toContain('waits up to 30 minutes');
});

test('a large fleet, above the threshold only', () => {
  expect(ids({}, { ...context, maxCapacity: LARGE_FLEET_WARNING_CAPACITY })).toEqual([]);
  expect(ids({}, { ...context, maxCapacity: LARGE_FLEET_WARNING_CAPACITY + 1 })).toEqual(['largeFleet']);
});

test('acksLate: false silences the late-acknowledgement warnings', () => {
  expect(ids({ pool: CeleryPool.THREADS, acksLate: false, timeLimit: Duration.hours(25) })).toEqual([]);
});

test('a setting newer than the oldest Celery gets an id naming it', () => {
  expect(ids({ settings: { broker_connection_retry_on_startup: 'True' } })).toEqual(['settingNewerCelery:broker_connection_retry_on_startup']);
});
