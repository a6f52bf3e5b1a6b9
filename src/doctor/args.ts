import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { FAIL_ON_CHOICES, FailOn } from './finding';
import { DEFAULT_LIVE_BOUNDS } from './live/live-reader';
import { DoctorOptions } from './run-doctor';

/** What the command line asks for. */
export type ParsedCommand =
  | { readonly kind: 'doctor'; readonly options: DoctorOptions; readonly json: boolean }
  | { readonly kind: 'schema' }
  | { readonly kind: 'exit'; readonly code: number };

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: { [name: string]: string | undefined };
  readonly now: () => Date;
}

/** `90m`, `6h`, `2d` (at most 15 days: CloudWatch keeps 1-minute data that long). */
export function parseWindow(text: string): number {
  const m = /^(\d+)\s*(m|min|h|d)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('use a number and a unit: 90m, 6h, 2d');
  const seconds = Number(m[1]) * (m[2] === 'd' ? 86400 : m[2] === 'h' ? 3600 : 60);
  if (seconds < 300 || seconds > 15 * 86400) throw new InvalidArgumentError('use 5m to 15d');
  return seconds;
}

function positive(name: string, max: number) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name}: use a number from 0 to ${max}`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

const DESCRIPTION = `Audit a live Amazon MQ for RabbitMQ broker and its Celery fleets for the
failure modes of the incident cdk-celery exists to prevent: mingle storms,
synchronised restarts, silent crashes, alarms that watch nothing. Read-only:
AWS Describe/List/Get calls, management API GETs, and the Celery remote-control
methods ping, stats, conf, active_queues and report (never hello or revoked).`;

const EPILOG = `
Sections and what enables them:
  broker, metrics  --broker (Amazon MQ, CloudWatch)
  fleet            --asg (Auto Scaling, EC2 launch templates)
  live             --broker-secret or --broker-url-env (RabbitMQ)

Exit codes:
  0  no finding at or above --fail-on, every requested section read
  1  a finding at or above --fail-on
  2  bad arguments
  3  a requested section could not be read

Examples:
  npx cdk-celery doctor --broker orders --region eu-west-1 --asg orders-workers
  CELERY_BROKER_URL=amqps://... npx cdk-celery doctor --broker orders \\
      --broker-url-env CELERY_BROKER_URL --fail-on high --json`;

/** Parse the arguments after the executable (`doctor --broker x ...`). Usage errors are reported on `io.err`. */
export function parseCommand(argv: string[], io: CommandIo): ParsedCommand {
  let parsed: ParsedCommand | undefined;
  const program = new Command('cdk-celery')
    .description('cdk-celery tools')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, getOutHelpWidth: () => 80, getErrHelpWidth: () => 80 })
    .showHelpAfterError('(run with --help for usage)');
  program.command('doctor')
    .description(DESCRIPTION)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, getOutHelpWidth: () => 80, getErrHelpWidth: () => 80 })
    .option('--broker <name-or-id>', 'Amazon MQ broker, by name or id')
    .option('--region <region>', 'AWS region (default: the SDK\'s: AWS_REGION, profile)')
    .addOption(new Option('--asg <name>', 'Auto Scaling group of workers (repeat or comma-separate)').argParser(collect).default([], 'none'))
    .option('--broker-secret <secret-id>', 'Secrets Manager secret {"username","password"} of a broker user, for the live checks')
    .option('--broker-url-env <VAR>', 'environment variable holding amqp(s)://user:password@host:port/vhost, for the live checks')
    .option('--vhost <vhost>', 'vhost of the workers, with --broker-secret', '/')
    .option('--management-url <url>', 'RabbitMQ management API base URL (default: the broker\'s console URL)')
    .addOption(new Option('--window <duration>', 'time window for metrics and launches, ending at --end: 90m, 6h, 2d').argParser(parseWindow).default(86400, '24h'))
    .option('--end <time>', 'end of the window, ISO 8601 (default: now)')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices(FAIL_ON_CHOICES).default('never'))
    .option('--json', 'print the report as JSON (schema: --json-schema)')
    .option('--json-schema', 'print the JSON Schema of --json and exit')
    .option('--timeout <seconds>', 'time bound of each remote-control and management API request', positive('--timeout', 60), DEFAULT_LIVE_BOUNDS.timeoutMs / 1000)
    .option('--max-workers <n>', 'most workers asked', positive('--max-workers', 10000), DEFAULT_LIVE_BOUNDS.maxWorkers)
    .option('--heartbeat-sample <seconds>', 'how long to listen for worker heartbeat events (0: do not)', positive('--heartbeat-sample', 60), DEFAULT_LIVE_BOUNDS.heartbeatSampleMs / 1000)
    .addHelpText('after', EPILOG)
    .action((opts: {
      broker?: string;
      region?: string;
      asg: string[];
      brokerSecret?: string;
      brokerUrlEnv?: string;
      vhost: string;
      managementUrl?: string;
      window: number;
      end?: string;
      failOn: FailOn;
      json?: boolean;
      jsonSchema?: boolean;
      timeout: number;
      maxWorkers: number;
      heartbeatSample: number;
    }) => {
      if (opts.jsonSchema) {
        parsed = { kind: 'schema' };
        return;
      }
      const usage = (message: string) => {
        throw new CommanderError(2, 'doctor.usage', `error: ${message}`);
      };
      const end = opts.end ? new Date(opts.end) : io.now();
      if (Number.isNaN(end.getTime())) usage(`--end: "${opts.end}" is not an ISO 8601 time`);
      let brokerUrl: string | undefined;
      if (opts.brokerUrlEnv) {
        brokerUrl = io.env[opts.brokerUrlEnv];
        if (!brokerUrl) usage(`--broker-url-env: the environment variable ${opts.brokerUrlEnv} is not set`);
        if (!/^amqps?:\/\//.test(brokerUrl!)) usage(`--broker-url-env: ${opts.brokerUrlEnv} must hold an amqp:// or amqps:// URL`);
      }
      if (opts.brokerSecret && brokerUrl) usage('use --broker-secret or --broker-url-env, not both');
      if (!opts.broker && opts.asg.length === 0 && !brokerUrl) {
        usage('nothing to audit: pass --broker, --asg or --broker-url-env (see --help)');
      }
      if (opts.managementUrl && !/^https?:\/\//.test(opts.managementUrl)) usage('--management-url must start with http:// or https://');
      parsed = {
        kind: 'doctor',
        json: opts.json === true,
        options: {
          broker: opts.broker,
          region: opts.region,
          autoScalingGroups: opts.asg,
          brokerSecret: opts.brokerSecret,
          brokerUrl,
          vhost: opts.vhost,
          managementUrl: opts.managementUrl,
          start: new Date(end.getTime() - opts.window * 1000),
          end,
          failOn: opts.failOn,
          bounds: {
            timeoutMs: opts.timeout * 1000,
            maxWorkers: Math.floor(opts.maxWorkers),
            maxReplyBytes: DEFAULT_LIVE_BOUNDS.maxReplyBytes,
            heartbeatSampleMs: opts.heartbeatSample * 1000,
          },
        },
      };
    });
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'doctor.usage') io.err(`${error.message}\n(run with --help for usage)\n`);
      const help = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code);
      return { kind: 'exit', code: help ? 0 : 2 };
    }
    throw error;
  }
  if (!parsed) {
    program.outputHelp();
    return { kind: 'exit', code: 2 };
  }
  return parsed;
}
