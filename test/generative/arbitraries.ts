import * as fc from 'fast-check';

/**
 * Fragments that break naive quoting in bash, systemd units, heredocs, URLs and click's parser.
 * `CANARY` is replaced by a path the test checks: a fragment that runs creates it.
 */
export const NASTY_FRAGMENTS = [
  "'", '"', '`', '$', '\\', '$(', ')', '${', '}', '$(touch CANARY)', '`touch CANARY`', "'$(touch CANARY)'", '"$(touch CANARY)"',
  '${IFS}', '$HOME', ';', '&&', '||', '|', '&', '>', '<', '#', '*', '?', '[', ']', '~', '!', '\n', '\r', '\r\n', '\t', ' ', '  ',
  '%', '%h', '%n', '%d', '%i', '%I', '%%', '%x', '@', ':', '/', '..', '.', '=', ',', '-', '--', '-Q', '-n', '--purge', '-S/tmp/x',
  'CDK_CELERY_EOF', '\nCDK_CELERY_EOF\n', '\x7f', '\x01', '\x1b[31m', '\u00e9', '\u2603', '\u2028', '\u{1F600}', '\uFEFF', '',
  'amqps://h:5671', 'b-1.mq.eu-west-1.on.aws', 'x=y', '(json){}', '(int)', 'True',
];

/** Arbitrary text: random strings mixed with the nasty fragments, never a NUL (no process argument can carry one). */
export function nastyString(options: { maxParts?: number } = {}): fc.Arbitrary<string> {
  const part = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_FRAGMENTS) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  );
  return fc.array(part, { maxLength: options.maxParts ?? 6 }).map((parts) => parts.join('').replace(/\0/g, ''));
}

/** Replace the `CANARY` placeholder of generated text with a path to watch. */
export function withCanary(text: string, canary: string): string {
  return text.split('CANARY').join(canary);
}
