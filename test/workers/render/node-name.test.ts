import { bashNodeNames } from './node-name-bash';
import { celeryNodeName } from '../../../src/workers/render';
import { MAX_NODE_NAME_TEMPLATE_LENGTH, nodeNameTemplateError, renderNodeNameAssignment } from '../../../src/workers/render/node-name';

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

// Each refusal on its own (node-name-celery.e2e.test.ts asks Celery about generated templates;
// these pin the boundaries and which message a template gets).
describe('--hostname templates refused at synth', () => {
  test.each([
    ['', /^an empty name is not allowed; leave hostname unset for celery@%h$/],
    ['w'.repeat(MAX_NODE_NAME_TEMPLATE_LENGTH + 1), /^use at most 128 characters \(node names become parts of queue names\)$/],
    ['w\x01@%h', /^control characters are not allowed$/],
    ['w\x7f@%h', /^control characters are not allowed$/],
    ['w\n@%h', /^control characters are not allowed$/],
    ['w\0@%h', /NUL character/],
    ['w%x@%h', /; Celery fails on %x$/],
    ['w%\u00e9@%h', /; Celery fails on %\u00e9$/],
    ['w%_', /; Celery fails on %_$/],
    ['w%7', /; Celery fails on %7$/],
    ['w%-@%h', /\(a "%" elsewhere is refused here to keep node names plain\)$/],
    ['w%%@%h', /\(a "%" elsewhere is refused here to keep node names plain\)$/],
    ['w@%h%', /\(a "%" elsewhere is refused here to keep node names plain\)$/],
    ['w%H@%h', /; Celery fails on %H$/],
  ])('%j', (template, message) => {
    expect(nodeNameTemplateError(template)).toMatch(message);
    expect(() => celeryNodeName(template, 'worker')).toThrow(/^hostname: .* is not allowed; /);
    expect(() => renderNodeNameAssignment(template)).toThrow(/^hostname: .* is not allowed; /);
  });

  test.each([
    'w'.repeat(MAX_NODE_NAME_TEMPLATE_LENGTH),
    'w%h%n%d%i%I@%h',
    '\u00e9t\u00e9@%n',
    'w@',
  ])('%j is accepted', (template) => {
    expect(nodeNameTemplateError(template)).toBeUndefined();
  });
});
