import { CommandIo, parseCommand } from './args';
import { renderText } from './render-text';
import { EXIT } from './report';
import { REPORT_JSON_SCHEMA } from './report-schema';
import { DoctorClients, defaultClients, runDoctor } from './run-doctor';

/**
 * `cdk-celery` entry point, bundled into assets/doctor/cli/index.js and run by bin/cdk-celery.
 * Resolves the exit code; never calls process.exit, so tests can run it in-process.
 */
export async function main(argv: string[], io: CommandIo = processIo(), clients?: (region?: string) => DoctorClients): Promise<number> {
  const command = parseCommand(argv, io);
  if (command.kind === 'exit') return command.code;
  if (command.kind === 'schema') {
    io.out(`${JSON.stringify(REPORT_JSON_SCHEMA, null, 2)}\n`);
    return EXIT.OK;
  }
  const report = await runDoctor(command.options, (clients ?? defaultClients)(command.options.region));
  io.out(command.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return report.summary.exitCode;
}

function processIo(): CommandIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    now: () => new Date(),
  };
}
