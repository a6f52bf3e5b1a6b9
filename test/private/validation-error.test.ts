import { App, Errors, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { validateIn, ValidationError } from '../../src/private/validation-error';
import { CeleryPool } from '../../src/workers';
import { buildPlatform, fleetOptions } from '../patterns/platform-fixture';

/* Issue 11: errors name the construct, so an error inside a platform with several fleets says which fleet. */

function errorOf(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('an error inside a platform with several fleets says which fleet', () => {
  test.each([
    ['a fleet option the renderer refuses', { pool: CeleryPool.of('thread') }, /^pool: "thread" is not a pool Celery accepts/],
    ['a fleet option the fleet refuses', { maxCapacity: 0 }, /^maxCapacity: 0 is not allowed/],
    ['an extra argument', { extraArguments: ['-Qother'] }, /^extraArguments: "-Q" "other" is set by the typed option "queues"/],
  ])('%s', (_name, overrides, message) => {
    const error = errorOf(() => buildPlatform({
      fleets: { orders: fleetOptions('orders'), reports: fleetOptions('reports', overrides as any), emails: fleetOptions('emails') },
    }));
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/ \[construct: Stack\/Celery\/Fleets\/reports\]$/);
    // aws-cdk-lib's own test recognises it, and it carries the path like aws-cdk-lib's errors.
    expect(Errors.isValidationError(error)).toBe(true);
    expect(error.constructPath).toBe('Stack/Celery/Fleets/reports');
    expect(error.stack).toContain('Relates to construct:\n  Stack/Celery/Fleets/reports');
  });

  test('platform-level errors name the platform', () => {
    const error = errorOf(() => buildPlatform({ fleets: { '1st': fleetOptions('x') } }));
    expect(error.constructPath).toBe('Stack/Celery');
    expect(error.message).toMatch(/^fleets: the name "1st" is not allowed/);
  });
});

describe('validateIn', () => {
  const scope = () => new Construct(new Stack(new App(), 'S'), 'Scope');

  test('turns a plain error of a pure check into a ValidationError of the scope, message first', () => {
    const error = errorOf(() => validateIn(scope(), () => { throw new Error('prop: bad'); }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('prop: bad [construct: S/Scope]');
    expect(error.reason).toBe('prop: bad');
  });

  test('lets an error that already names a construct (a nested one) through unchanged', () => {
    const inner = new ValidationError(new Construct(new Stack(new App(), 'T'), 'Inner'), 'x: y');
    expect(errorOf(() => validateIn(scope(), () => { throw inner; }))).toBe(inner);
  });

  test('returns the value when nothing is wrong', () => {
    expect(validateIn(scope(), () => 42)).toBe(42);
  });
});
