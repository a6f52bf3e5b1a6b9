import { gzipSync } from 'zlib';
import { Duration } from 'aws-cdk-lib';
import { CLOUD_CONFIG, HAND_WRITTEN_CRON, HAND_WRITTEN_MULTI_TIMER, libraryUserData } from './fixtures';
import { celeryPins } from '../../src/doctor/celery-version';
import { REFERENCE_WORKER_COMMAND } from '../../src/doctor/knowledge';
import { findRestartSchedules } from '../../src/doctor/restart-schedules';
import { decodeUserData, userDataDocuments } from '../../src/doctor/user-data-documents';
import { celeryEnvironment } from '../../src/doctor/user-data-environment';
import { findWorkerCommandLines, workerCommandFacts } from '../../src/doctor/worker-command-line';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';

/** Parsing user data: this library's boot script and the hand-written shapes public Celery IaC uses. */

function commands(text: string) {
  const docs = userDataDocuments(text);
  const env = celeryEnvironment(docs);
  return findWorkerCommandLines(docs).map((c) => ({ ...c, facts: workerCommandFacts(c.argv, { ...env, ...c.envPrefix }) }));
}

describe('the library\'s own boot script', () => {
  const text = libraryUserData();

  test('the worker command is the rendered one, read from the unit\'s ExecStart', () => {
    const found = commands(text);
    expect(found).toHaveLength(1);
    expect(found[0].origin).toBe('/etc/systemd/system/celery-worker.service');
    // The readiness check's `celery inspect ping` is not a worker command.
    const rendered = renderCeleryWorkerCommand({ app: 'proj', celeryExecutable: '/opt/app/venv/bin/celery', timeLimit: Duration.minutes(5), queues: ['orders'] });
    expect(found[0].argv).toEqual(['celery', ...rendered.argv.slice(1)]);
    expect(found[0].facts).toMatchObject({
      mingle: false, gossip: false, heartbeat: false, prefetchMultiplier: 1, acksLate: true, timeLimitSeconds: 300, queues: ['orders'],
    });
  });

  test('the revoked-set caps come from the unit\'s Environment= lines', () => {
    expect(celeryEnvironment(userDataDocuments(text))).toEqual(REFERENCE_WORKER_COMMAND.environment);
  });

  test('the periodic-restart timer is recognised as spread, not synchronised', () => {
    expect(findRestartSchedules(userDataDocuments(text))).toEqual([expect.objectContaining({
      kind: 'library-periodic-restart', schedule: 'OnCalendar=*-*-* 03:00:00', synchronised: false, firesAt: { hour: 3, minute: 0 },
    })]);
  });
});

describe('hand-written user data', () => {
  test('plain celery worker with nohup and a midnight cron restart', () => {
    const found = commands(HAND_WRITTEN_CRON);
    expect(found.map((c) => c.argv.join(' '))).toEqual(['celery -A proj worker -l info --concurrency=8 --time-limit 1800']);
    expect(found[0].facts).toMatchObject({
      mingle: true,
      gossip: true,
      heartbeat: true,
      prefetchMultiplier: 4,
      prefetchMultiplierExplicit: false,
      concurrency: 8,
      timeLimitSeconds: 1800,
      acksLate: undefined,
      remoteControl: true,
    });
    expect(findRestartSchedules(userDataDocuments(HAND_WRITTEN_CRON))).toEqual([expect.objectContaining({
      kind: 'cron',
      schedule: '0 0 * * *',
      synchronised: true,
      firesAt: { hour: 0, minute: 0 },
      command: 'root systemctl restart celery || pkill -f \'celery worker\'',
    })]);
    expect(celeryPins(HAND_WRITTEN_CRON)).toEqual(['5.2.7']);
  });

  test('celery multi in a systemd unit written by a heredoc, with a daily timer and no delay', () => {
    const found = commands(HAND_WRITTEN_MULTI_TIMER);
    expect(found).toHaveLength(1);
    expect(found[0].origin).toBe('/etc/systemd/system/celery.service');
    expect(found[0].facts).toMatchObject({ subcommand: 'multi', nodes: 3, mingle: true });
    expect(findRestartSchedules(userDataDocuments(HAND_WRITTEN_MULTI_TIMER))).toEqual([expect.objectContaining({
      kind: 'systemd-timer', schedule: 'OnCalendar=*-*-* 03:00:00', synchronised: true, command: '/usr/bin/systemctl restart celery.service',
    })]);
  });

  test('cloud-config write_files and runcmd; a randomised timer is spread, not synchronised', () => {
    const found = commands(CLOUD_CONFIG);
    expect(found).toHaveLength(1);
    expect(found[0].origin).toBe('user data, cloud-config write_files /etc/systemd/system/worker.service');
    expect(found[0].facts).toMatchObject({
      app: 'shop.celery:app',
      mingle: false,
      gossip: false,
      heartbeat: false,
      prefetchMultiplier: 1,
      concurrency: 4,
      acksLate: true,
      queues: ['orders', 'emails'],
    });
    expect(celeryEnvironment(userDataDocuments(CLOUD_CONFIG))).toEqual({ CELERY_WORKER_REVOKES_MAX: '5000' });
    expect(findRestartSchedules(userDataDocuments(CLOUD_CONFIG))).toEqual([expect.objectContaining({
      kind: 'systemd-timer', synchronised: false, spread: 'RandomizedDelaySec=2h (random, not guaranteed apart)',
    })]);
    expect(celeryPins(CLOUD_CONFIG)).toEqual(['5.4.0']);
  });

  test('MIME multipart with a base64 part, gzipped as a whole', () => {
    const mime = [
      'Content-Type: multipart/mixed; boundary="==BOUNDARY=="',
      'MIME-Version: 1.0',
      '',
      '--==BOUNDARY==',
      'Content-Type: text/cloud-config; charset="us-ascii"',
      '',
      CLOUD_CONFIG,
      '--==BOUNDARY==',
      'Content-Type: text/x-shellscript; charset="us-ascii"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(HAND_WRITTEN_CRON).toString('base64'),
      '--==BOUNDARY==--',
      '',
    ].join('\n');
    const text = decodeUserData(gzipSync(Buffer.from(mime)).toString('base64'));
    const found = commands(text);
    expect(found.map((c) => [c.origin, c.facts.mingle])).toEqual([
      ['user data, MIME part 1 (text/cloud-config), cloud-config write_files /etc/systemd/system/worker.service', false],
      ['user data, MIME part 2 (text/x-shellscript)', true],
    ]);
  });

  test.each([
    ['su -c', 'su - app -c "cd /srv && celery -A proj worker --without-mingle -n w1@%h"', ['celery', '-A', 'proj', 'worker', '--without-mingle', '-n', 'w1@%h']],
    ['python -m celery', '/opt/venv/bin/python -m celery -A proj worker -c4 -Ofair', ['celery', '-A', 'proj', 'worker', '-c4', '-Ofair']],
    ['supervisor', 'command=/srv/venv/bin/celery --app=proj worker --loglevel=INFO --statedb=/var/run/celery/worker.db', ['celery', '--app=proj', 'worker', '--loglevel=INFO', '--statedb=/var/run/celery/worker.db']],
    ['env prefix', 'CELERY_WORKER_WITHOUT_MINGLE=1 celery -A proj worker --purge -D', ['celery', '-A', 'proj', 'worker', '--purge', '-D']],
    ['line continuation', 'celery -A proj worker \\\n  --prefetch-multiplier 8 \\\n  -- task_acks_late=False', ['celery', '-A', 'proj', 'worker', '--prefetch-multiplier', '8', '--', 'task_acks_late=False']],
  ])('%s', (_, line, argv) => {
    const found = commands(`#!/bin/bash\n${line}\n`);
    expect(found.map((c) => c.argv)).toEqual([argv]);
  });

  test('what each variant sets', () => {
    expect(workerCommandFacts(['celery', '-A', 'proj', 'worker', '-c4', '-Ofair'])).toMatchObject({ concurrency: 4, mingle: true });
    expect(workerCommandFacts(['celery', '--app=proj', 'worker', '--statedb=/x.db'])).toMatchObject({ app: 'proj', stateDb: '/x.db' });
    expect(workerCommandFacts(['celery', '-A', 'proj', 'worker', '--purge', '-D'], { CELERY_WORKER_WITHOUT_MINGLE: '1' }))
      .toMatchObject({ purge: true, detach: true, mingle: false, gossip: true });
    expect(workerCommandFacts(['celery', '-A', 'proj', 'worker', '--prefetch-multiplier', '8', '--', 'task_acks_late=False', 'worker_enable_remote_control=(bool)False']))
      .toMatchObject({ prefetchMultiplier: 8, prefetchMultiplierExplicit: true, acksLate: false, remoteControl: false });
  });

  test('commands that start no worker are not worker commands', () => {
    expect(commands([
      '#!/bin/bash',
      'celery -A proj inspect ping -d celery@host',
      'celery -A proj multi stopwait w1 w2',
      'celery -A proj beat -s /var/run/beat',
      '# celery -A proj worker (commented out)',
      'echo "see the celery worker docs"',
    ].join('\n'))).toEqual([]);
  });

  test('cron lines that do not restart the worker are not restart schedules', () => {
    expect(findRestartSchedules(userDataDocuments([
      '#!/bin/bash',
      'echo "*/5 * * * * root /usr/local/bin/report-metrics" > /etc/cron.d/metrics',
      'echo "@reboot root systemctl restart celery" > /etc/cron.d/boot',
      'echo "15 2 * * * root sleep $((RANDOM % 3600)); systemctl restart celery" > /etc/cron.d/spread',
    ].join('\n')))).toEqual([expect.objectContaining({ schedule: '15 2 * * *', synchronised: false, spread: 'a random delay in the command' })]);
  });
});
