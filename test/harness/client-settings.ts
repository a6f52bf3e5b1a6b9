import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { RabbitMqProfile } from './rabbitmq';
import { Reaper } from './reaper';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';

const README = join(__dirname, '..', '..', 'README.md');
const MARKER = '<!-- cdk-celery:producer-settings:rabbitmq-4 -->';
const QUEUES_LINE = /^FLEET_QUEUES = \[.*\].*$/m;

/**
 * The README's producer settings for RabbitMQ 4, exactly as documented: the fenced Python block
 * after its marker. Tests run it, so the documentation is what is tested.
 */
export function documentedProducerSettings(): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no ${MARKER}`);
  const block = /```python\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`README.md: no python block after ${MARKER}`);
  if (!QUEUES_LINE.test(block[1])) throw new Error('README.md: the producer settings no longer start from a FLEET_QUEUES = [...] line');
  return block[1];
}

let dir: string | undefined;

function settingsDir(): string {
  if (!dir) {
    // Under the shared temporary directory, so Celery in the RabbitMQ 4 root reads it too.
    dir = mkdtempSync(join(tmpdir(), 'cdk-celery-settings-'));
    Reaper.start('settings', [dir]);
  }
  return dir;
}

const REPLAY_MARKER = '<!-- cdk-celery:dead-letter-replay -->';

/**
 * The README's script that replays dead-lettered tasks, exactly as documented (the fenced Python
 * block after its marker), in a file for `runScript`: the documentation is what is tested.
 */
export function documentedDeadLetterReplay(): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(REPLAY_MARKER);
  if (at < 0) throw new Error(`README.md has no ${REPLAY_MARKER}`);
  const block = /```python\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`README.md: no python block after ${REPLAY_MARKER}`);
  const path = join(settingsDir(), 'dead-letter-replay.py');
  writeFileSync(path, block[1]);
  return path;
}

/**
 * A file for the driver's `--configure` (a producer's, beat's or an operator's app settings) on a
 * broker profile: nothing on RabbitMQ 3 (Celery's defaults work there), the README's settings for
 * RabbitMQ 4 with `queues` as its FLEET_QUEUES line (the only change).
 */
export function producerConfigure(profile: Pick<RabbitMqProfile, 'engineVersion'>, queues: string[]): string | undefined {
  if (!RabbitMqEngineVersion.of(profile.engineVersion).quorumQueuesByDefault) return undefined;
  const path = join(settingsDir(), `producer-${queues.join('-').replace(/[^A-Za-z0-9_.-]/g, '_') || 'none'}.py`);
  writeFileSync(path, documentedProducerSettings().replace(QUEUES_LINE, `FLEET_QUEUES = ${JSON.stringify(queues)}`));
  return path;
}
