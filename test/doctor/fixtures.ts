import { Duration } from 'aws-cdk-lib';
import { renderBootScript } from '../../src/workers/render/boot-script';

/**
 * User data the doctor reads in the tests: this library's own boot script (as a
 * CeleryWorkerFleet renders it, with concrete values where CloudFormation would substitute
 * them), and hand-written user data the way public Celery IaC writes it.
 */
export function libraryUserData(): string {
  return renderBootScript({
    worker: { app: 'proj', celeryExecutable: '/opt/app/venv/bin/celery', timeLimit: Duration.minutes(5), queues: ['orders'] },
    user: 'celery',
    workingDirectory: '/opt/app',
    virtualEnvDirectory: '/opt/app/venv',
    brokerHost: 'b-1234.mq.eu-west-1.amazonaws.com',
    brokerPort: '5671',
    credentialsSecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-workers',
    lifecycleHookName: 'drain',
    periodicRestart: {},
  });
}

/** A plain `celery worker` under nohup, Celery 5.2 pinned, and the classic midnight cron restart. */
export const HAND_WRITTEN_CRON = [
  '#!/bin/bash',
  'set -e',
  'yum install -y python3-pip',
  'pip3 install "celery[sqs]==5.2.7" -r /srv/app/requirements.txt',
  'cd /srv/app',
  'nohup celery -A proj worker -l info --concurrency=8 --time-limit 1800 >> /var/log/celery.log 2>&1 &',
  'echo "0 0 * * * root systemctl restart celery || pkill -f \'celery worker\'" > /etc/cron.d/celery-restart',
  '',
].join('\n');

/** `celery multi` under systemd (Celery's own example unit) with a daily timer at 03:00 and no delay. */
export const HAND_WRITTEN_MULTI_TIMER = [
  '#!/bin/bash',
  'cat > /etc/systemd/system/celery.service <<EOF',
  '[Unit]',
  'Description=Celery Service',
  'After=network.target',
  '',
  '[Service]',
  'Type=forking',
  'User=celery',
  'EnvironmentFile=/etc/conf.d/celery',
  'WorkingDirectory=/opt/celery',
  'ExecStart=/bin/sh -c \'${CELERY_BIN} -A proj multi start w1 w2 w3 --pidfile=/var/run/celery/%n.pid --loglevel=INFO -O fair\'',
  'Restart=on-failure',
  '',
  '[Install]',
  'WantedBy=multi-user.target',
  'EOF',
  'cat > /etc/systemd/system/celery-restart.service <<\'EOF\'',
  '[Service]',
  'Type=oneshot',
  'ExecStart=/usr/bin/systemctl restart celery.service',
  'EOF',
  'cat > /etc/systemd/system/celery-restart.timer <<\'EOF\'',
  '[Timer]',
  'OnCalendar=*-*-* 03:00:00',
  '',
  '[Install]',
  'WantedBy=timers.target',
  'EOF',
  'systemctl enable --now celery.service celery-restart.timer',
  '',
].join('\n');

/** cloud-config: the worker as a systemd unit written by write_files, a safe command, a randomised timer. */
export const CLOUD_CONFIG = [
  '#cloud-config',
  'packages: [python3-pip]',
  'write_files:',
  '  - path: /etc/systemd/system/worker.service',
  '    content: |',
  '      [Service]',
  '      Environment="CELERY_WORKER_REVOKES_MAX=5000"',
  '      ExecStart=/opt/venv/bin/celery -A shop.celery:app worker -Q orders,emails --without-mingle --without-gossip --without-heartbeat --prefetch-multiplier=1 -c 4 -- task_acks_late=True',
  '      Restart=always',
  '  - path: /etc/systemd/system/worker-restart.timer',
  '    content: |',
  '      [Timer]',
  '      OnCalendar=Sun 02:00',
  '      RandomizedDelaySec=2h',
  '  - path: /etc/systemd/system/worker-restart.service',
  '    content: |',
  '      [Service]',
  '      ExecStart=/usr/bin/systemctl restart worker.service',
  'runcmd:',
  '  - [pip3, install, "celery==5.4.0"]',
  '  - systemctl enable --now worker.service worker-restart.timer',
  '',
].join('\n');
