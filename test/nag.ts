import { Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';

/**
 * The cdk-nag AwsSolutions findings (errors and warnings) reported on `stack`, as
 * `PATH: first line of the message`, optionally only those on constructs under `underPath` (a
 * construct path prefix such as `/Stack/Fleet/`). Add `AwsSolutionsChecks` to the app first.
 */
export function nagFindings(stack: Stack, underPath?: string): string[] {
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
  ]
    .filter((f) => underPath === undefined || f.id.startsWith(underPath))
    .map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
}
