import { bashNodeNames } from './node-name-bash';
import { celeryNodeName } from '../../../src/workers/render';

/*
 * The boot script waits for the worker by node name. If it waits for another name than the one
 * Celery gives the worker, readiness never comes and every deployment rolls back. Celery's own
 * code (both versions) is the oracle; the boot script's bash computes the name on the host.
 */

test.each([
  ['worker%h', 'ip-10-0-1-5.eu-west-1.compute.internal', 'celery@workerip-10-0-1-5.eu-west-1.compute.internal'],
  ['@%n', 'ip-10-0-1-5.eu-west-1.compute.internal', 'celery@ip-10-0-1-5'],
  ['name@', 'ip-10-0-1-5.eu-west-1.compute.internal', 'name@ip-10-0-1-5.eu-west-1.compute.internal'],
  ['w%i@%d', 'worker', 'w0@worker'],
])('%s on %s is %s, as Celery names it', (t, host, expected) => {
  expect(celeryNodeName(t, host)).toBe(expected);
  expect(bashNodeNames([[t, host]])).toEqual([expected]);
});
