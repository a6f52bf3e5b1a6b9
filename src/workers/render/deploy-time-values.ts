import { Fn, Token } from 'aws-cdk-lib';
import { shellQuote } from './shell-quote';

/**
 * Values of a bash script that may only be known at deploy time (CloudFormation tokens: a bucket
 * created in the same stack, the broker's endpoint, a parameter). CloudFormation cannot escape
 * text for bash, so such a value never appears in the script as text: the template carries
 * `Fn::Base64` of it, whose alphabet (`A-Z a-z 0-9 + / =`) is inert in a single-quoted word, and
 * the script decodes it into a variable at boot (`cdk_vN`). Whatever the value turns out to be (quotes,
 * `$(...)`, newlines), the script uses it as data only. Values known at synth are quoted as usual.
 */
export class DeployTimeValues {
  private readonly assignments: string[] = [];

  /**
   * One bash word that expands to exactly `value`: the quoted text when it is known at synth,
   * else `"${cdk_vN}"`, decoded by `render()`'s assignments.
   *
   * @param value The text, possibly holding CloudFormation tokens
   */
  public word(value: string): string {
    if (!Token.isUnresolved(value)) return shellQuote(value);
    const name = `cdk_v${this.assignments.length + 1}`;
    // Exactly the decoded text, trailing newlines included: the substitution ends with a "." that
    // the second assignment removes.
    this.assignments.push(`${name}=$(base64 -d <<<'${Fn.base64(value)}'; printf .); ${name}=\${${name}%.}`);
    return `"\${${name}}"`;
  }

  /** Whether any value needs decoding at boot. */
  public get empty(): boolean {
    return this.assignments.length === 0;
  }

  /** The assignments, to place before the first use of a word (empty if none). */
  public render(): string {
    return this.assignments.map((a) => `${a}\n`).join('');
  }
}
