/**
 * How many generated cases each generative test runs. One place, so the total can be reported and
 * scaled: `CDK_CELERY_GENERATIVE_SCALE=10 npx jest test/...` for a longer local search, with the
 * seed printed by a failing test (`CDK_CELERY_GENERATIVE_SEED`) to replay it.
 */
export const GENERATIVE_SCALE = Number(process.env.CDK_CELERY_GENERATIVE_SCALE ?? '1');

/** The seed of every generative test in this run: fixed unless given, so CI is reproducible. */
export const GENERATIVE_SEED = Number(process.env.CDK_CELERY_GENERATIVE_SEED ?? '20260511');

/** Cases per generative test, by test (before scaling). */
export const GENERATIVE_RUNS = {
  /** Boot scripts rendered and run under bash with AWS CLI, IMDS and systemd stubbed. */
  bootScript: 120,
  /** Whole fleets synthesized with a bucket key and an imported broker host from the generator. */
  fleetUserData: 12,
  /** Worker units started by a real systemd that report the argv they received. */
  workerUnitArgv: 100,
  /** extraArguments lists parsed by Celery's click parser, each Celery version. */
  extraArguments: 1500,
  /** settings parsed by Celery's command-line settings parser, each Celery version. */
  settings: 1500,
  /** --hostname templates expanded by Celery, each version, and by the boot script under bash. */
  nodeName: 400,
  /** OnCalendar expressions checked by systemd-analyze calendar. */
  onCalendar: 400,
} as const;

/** The cases to run for `test`, scaled. */
export function runsOf(test: keyof typeof GENERATIVE_RUNS): number {
  return Math.max(1, Math.round(GENERATIVE_RUNS[test] * GENERATIVE_SCALE));
}
