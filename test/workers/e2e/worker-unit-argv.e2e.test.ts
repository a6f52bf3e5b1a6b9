import { mkdirSync, readdirSync, readFileSync, chmodSync } from 'fs';
import { join } from 'path';
import * as fc from 'fast-check';
import {
  DEFAULT_INSTANCE_LAYOUT, PRESTART_SCRIPT, renderCeleryWorkerCommand, renderWorkerServiceUnit, workerStopTimeout,
} from '../../../src/workers/render';
import { nastyString } from '../../generative/arbitraries';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';
import { pollUntil } from '../../harness/reaper';
import { startSystemd, Systemd, systemdUnavailable } from '../../harness/systemd';

/*
 * systemd itself as the oracle of the worker unit's quoting: worker units rendered from generated
 * options (node name templates, settings values, extra-argument values, a working directory with
 * quotes, spaces and %) are started by a real systemd (harness/systemd.ts), with a stand-in
 * `celery` that writes the argv, working directory and environment it received. Each must be
 * exactly what the renderer meant to pass: nothing expanded (%, $), split, unescaped or lost.
 */

jest.setTimeout(240_000);

interface Case {
  readonly hostname?: string;
  readonly logFormat?: string;
  readonly extra: readonly string[];
  readonly directory: string;
}

const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  hostname: fc.option(fc.oneof(nastyString({ maxParts: 4 }), fc.constantFrom('w1@%h', "it's $(x) @%n", 'a b@%d', 'x%i@%h.\u2603')), { nil: undefined }),
  logFormat: fc.option(nastyString(), { nil: undefined }),
  extra: fc.oneof(fc.constant([] as string[]), fc.tuple(fc.constantFrom('-X', '-I', '--exclude-queues', '--include'), nastyString({ maxParts: 4 })).map(([o, v]) => [o, v])),
  directory: fc.oneof(fc.constantFrom('app', "my app's %h $HOME code", 'caf\u00e9 "quoted" \\ back'), nastyString({ maxParts: 3 })),
});

/** The stand-in celery: records argv, cwd and the revoked-set environment, then stays up like a worker. */
const RECORDER = `#!/usr/bin/python3
import json, os, sys, time
out = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), 'out', os.path.basename(sys.argv[0]) + '.json')
with open(out + '.tmp', 'w') as f:
    json.dump({'argv': sys.argv[1:], 'cwd': os.getcwd(), 'env': {k: v for k, v in os.environ.items() if k.startswith('CELERY_WORKER_')}}, f)
os.rename(out + '.tmp', out)
time.sleep(3600)
`;

const unavailable = systemdUnavailable();
if (unavailable) {
  test.skip(`worker units under a namespaced systemd (skipped: ${unavailable})`, () => undefined);
} else {
  let systemd: Systemd | undefined;
  afterAll(async () => systemd?.stop());

  test('systemd passes every generated argument, working directory and environment value exactly', async () => {
    const cases = fc.sample(caseArbitrary, { numRuns: runsOf('workerUnitArgv'), seed: GENERATIVE_SEED });
    const expected: { [unit: string]: { argv: string[]; cwd: string; env: { [k: string]: string } } } = {};
    let refused = 0;
    systemd = await startSystemd({
      users: ['celery'],
      setup: (root) => {
        const layout = { ...DEFAULT_INSTANCE_LAYOUT, libexecDir: join(root, 'libexec'), configDir: join(root, 'etc-cdk'), stateDir: join(root, 'state'), unitDir: join(root, 'units') };
        const units: { [name: string]: string } = {};
        const files: { [path: string]: { content: string; mode?: number } } = {
          'bin/recorder': { content: RECORDER, mode: 0o755 },
          [`libexec/${PRESTART_SCRIPT}`]: { content: '#!/bin/sh\nexit 0\n', mode: 0o755 },
          'etc-cdk/broker.env': { content: 'CELERY_BROKER_URL=amqp://localhost\n', mode: 0o600 },
        };
        cases.forEach((c, i) => {
          const name = `case-${i}`;
          const workingDirectory = `${root}/wd/${i}-${c.directory.replace(/\//g, '_')}`;
          let unit: string;
          let argv: string[];
          let environment: { [k: string]: string };
          try {
            const command = renderCeleryWorkerCommand({
              app: 'proj',
              celeryExecutable: join(root, 'bin', name),
              hostname: c.hostname,
              extraArguments: [...c.extra],
              settings: c.logFormat === undefined ? undefined : { worker_log_format: c.logFormat },
            });
            unit = renderWorkerServiceUnit({ command, user: 'celery', workingDirectory, stopTimeout: workerStopTimeout(), layout, markUnhealthyOnCrashLoop: false });
            argv = command.argv.slice(1);
            environment = command.environment;
          } catch {
            // Refused at synth (checked by the renderer's own tests): nothing reaches a unit.
            refused++;
            return;
          }
          units[`${name}.service`] = unit;
          files[`bin/${name}`] = { content: RECORDER, mode: 0o755 };
          files[`wd/${workingDirectory.slice(`${root}/wd/`.length)}/.keep`] = { content: '' };
          expected[name] = { argv, cwd: workingDirectory, env: environment };
        });
        return { units, files };
      },
    });
    const root = systemd.root;
    mkdirSync(join(root, 'out'));
    chmodSync(join(root, 'out'), 0o777);
    const names = Object.keys(expected);
    expect(names.length).toBeGreaterThan(0);
    await systemd.systemctl(['start', '--no-block', ...names.map((n) => `${n}.service`)]);
    await pollUntil(() => (readdirSync(join(root, 'out')).filter((f) => f.endsWith('.json')).length === names.length ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: `${names.length} worker units reporting their argv`,
      describe: async () => {
        const failed = (await systemd!.systemctl(['list-units', '--failed', '--no-legend', '--plain', 'case-*'], { allowFailure: true }))
          .split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
        const journals = await Promise.all(failed.slice(0, 5).map((u) => systemd!.journalctl(['-u', u, '-o', 'cat', '-n', '8'])));
        return `failed units: ${failed.join(' ')}\n${journals.join('\n')}\n${failed.slice(0, 5).map((u) => JSON.stringify(readFileSync(join(root, 'units', u), 'utf8').split('\n').filter((l) => /^(ExecStart|WorkingDirectory)=/.test(l)))).join('\n')}`;
      },
    });
    for (const name of names) {
      const received = JSON.parse(readFileSync(join(root, 'out', `${name}.json`), 'utf8'));
      expect({ unit: name, ...received }).toEqual({ unit: name, ...expected[name] });
    }
    // eslint-disable-next-line no-console
    console.log(`worker units: ${cases.length} generated cases (${names.length} started by systemd with exact argv, cwd and environment, ${refused} refused at synth)`);
  });
}
