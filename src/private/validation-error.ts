import { IConstruct } from 'constructs';

// The symbols aws-cdk-lib marks its own construct and validation errors with, so that
// `Errors.isValidationError(e)` (aws-cdk-lib) is true for these errors too.
const CONSTRUCT_ERROR_SYMBOL = Symbol.for('@aws-cdk/core.SynthesisError');
const VALIDATION_ERROR_SYMBOL = Symbol.for('@aws-cdk/core.ValidationError');

/**
 * Bad input to a construct, in the manner of aws-cdk-lib's `ValidationError`: it carries the path
 * of the construct (`constructPath`), its stack says which construct it relates to, and
 * `Errors.isValidationError` recognises it. Unlike aws-cdk-lib's, the message itself also ends with
 * the path, because jsii users (Python) often see only the message: in a platform with several
 * fleets, the message alone says which fleet.
 *
 * Not exported from the library: users test for it with `Errors.isValidationError`.
 */
export class ValidationError extends Error {
  /** Path of the construct whose input is wrong. */
  public readonly constructPath: string;
  /** The message without the construct path. */
  public readonly reason: string;

  constructor(scope: IConstruct, message: string) {
    super(`${message} [construct: ${scope.node.path || '<root>'}]`);
    Object.setPrototypeOf(this, ValidationError.prototype);
    this.name = 'ValidationError';
    this.reason = message;
    this.constructPath = scope.node.path;
    Object.defineProperty(this, CONSTRUCT_ERROR_SYMBOL, { value: true });
    Object.defineProperty(this, VALIDATION_ERROR_SYMBOL, { value: true });
    this.stack = `${this.stack ?? `${this.name}: ${this.message}`}\nRelates to construct:\n  ${scope.node.path || '<root>'}`;
  }

  /** Always `'validation'`, as for aws-cdk-lib's validation errors. */
  public get type(): 'validation' {
    return 'validation';
  }

  /** Always `'error'`, as for aws-cdk-lib's construct errors. */
  public get level(): 'error' {
    return 'error';
  }
}

/** Whether `e` is a validation error that already names a construct (ours or aws-cdk-lib's). */
export function isScopedValidationError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && VALIDATION_ERROR_SYMBOL in e
    && typeof (e as { constructPath?: unknown }).constructPath === 'string';
}

/**
 * Runs `fn`, which validates input with pure functions (renderers, rule checks) that throw plain
 * errors naming the prop; such an error is rethrown as a `ValidationError` of `scope`. Errors that
 * already name a construct (a nested construct's) pass through unchanged.
 */
export function validateIn<T>(scope: IConstruct, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isScopedValidationError(e) || !(e instanceof Error)) throw e;
    throw new ValidationError(scope, e.message);
  }
}
