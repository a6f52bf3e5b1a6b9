import { Duration } from 'aws-cdk-lib';
import { DEFAULT_BOOT_TIMEOUT, resolveFleetCapacity } from '../../src/workers/fleet-capacity';

test('defaults: 1 to 4 instances, batches of 1, 1 kept in service, 15-minute boot', () => {
  expect(resolveFleetCapacity({}))
    .toEqual({ minCapacity: 1, maxCapacity: 4, maxBatchSize: 1, minInstancesInService: 1, bootTimeout: DEFAULT_BOOT_TIMEOUT });
  expect(DEFAULT_BOOT_TIMEOUT.toMinutes()).toBe(15);
});

test.each([
  // [min, max] -> batch (20 % of max, at least 1), in service (min, but at most max - batch)
  [0, 1, 1, 0],
  [2, 2, 1, 1],
  [10, 10, 2, 8],
  [3, 20, 4, 3],
  [0, 50, 10, 0],
])('min %d, max %d: batches of %d, %d in service', (minCapacity, maxCapacity, maxBatchSize, minInstancesInService) => {
  expect(resolveFleetCapacity({ minCapacity, maxCapacity })).toMatchObject({ minCapacity, maxCapacity, maxBatchSize, minInstancesInService });
});

test('given values win over the derived ones', () => {
  expect(resolveFleetCapacity({ minCapacity: 2, maxCapacity: 10, maxBatchSize: 5, minInstancesInService: 0, bootTimeout: Duration.minutes(30) }))
    .toEqual({ minCapacity: 2, maxCapacity: 10, maxBatchSize: 5, minInstancesInService: 0, bootTimeout: Duration.minutes(30) });
});
