import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { cpus, loadavg, totalmem } from 'os';
import { CeleryInstall } from '../test/harness/celery';
import { RabbitMq } from '../test/harness/rabbitmq';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGib: number;
  readonly os: string;
  readonly node: string;
  readonly rabbitmq: string;
  /** "Celery 5.2.6 (kombu 5.2.4, Python 3.11.2)" per installation. */
  readonly celery: string[];
  readonly date: string;
  /** 1-minute load average when the run started (other suites share the cores). */
  readonly loadAtStart: number;
}

function cpuModel(): string {
  const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
  return line ? line.slice(line.indexOf(':') + 1).trim() : cpus()[0]?.model ?? 'unknown';
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return release.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function pythonVersions(install: CeleryInstall): string {
  const probe = spawnSync(install.python, ['-c', 'import kombu, platform; print(kombu.__version__, platform.python_version())'], { encoding: 'utf8', timeout: 60_000 });
  const [kombu, python] = probe.stdout.trim().split(' ');
  return `Celery ${install.version} (kombu ${kombu ?? '?'}, Python ${python ?? '?'})`;
}

export async function machineInfo(broker: RabbitMq | undefined, installs: CeleryInstall[], loadAtStart: number): Promise<MachineInfo> {
  const rabbitmq = broker ? (await broker.ctl(['eval', 'rabbit_misc:version().'])).trim().replace(/"/g, '') : 'not started';
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGib: Math.round(totalmem() / 2 ** 30),
    os: osName(),
    node: process.version,
    rabbitmq,
    celery: installs.map(pythonVersions),
    date: new Date().toISOString(),
    loadAtStart,
  };
}

export function currentLoad(): number {
  return loadavg()[0];
}
