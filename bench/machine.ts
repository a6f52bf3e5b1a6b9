import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { cpus, loadavg, totalmem } from 'os';
import { median } from './stats';
import { CeleryInstall, installCommand } from '../test/harness/celery';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGib: number;
  readonly os: string;
  readonly node: string;
  /** "Celery 5.2.6 (kombu 5.2.4, Python 3.11.2)" per installation. */
  readonly celery: string[];
  readonly date: string;
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
  const argv = installCommand(install, [install.python, '-c', 'import kombu, platform; print(kombu.__version__, platform.python_version())'], '/');
  const probe = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  const [kombu, python] = probe.stdout.trim().split(' ');
  return `Celery ${install.version} (kombu ${kombu ?? '?'}, Python ${python ?? '?'})`;
}

export function machineInfo(installs: CeleryInstall[]): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGib: Math.round(totalmem() / 2 ** 30),
    os: osName(),
    node: process.version,
    celery: installs.map(pythonVersions),
    date: new Date().toISOString(),
  };
}

export function currentLoad(): number {
  return loadavg()[0];
}

/** The 1-minute load average over a run: other engineers' suites share the two cores. */
export interface LoadSummary {
  readonly atStart: number;
  readonly atEnd: number;
  readonly median: number;
  readonly max: number;
  readonly samples: number;
  /** Share of the samples above the machine's core count (processes waiting for a core). */
  readonly shareAboveCores: number;
}

/** Samples the 1-minute load average every `intervalMs` until stopped. */
export class LoadSampler {
  private readonly values: number[] = [currentLoad()];
  private readonly timer: NodeJS.Timeout;

  public constructor(intervalMs = 15_000) {
    this.timer = setInterval(() => this.values.push(currentLoad()), intervalMs);
    this.timer.unref();
  }

  public stop(): LoadSummary {
    clearInterval(this.timer);
    this.values.push(currentLoad());
    return {
      atStart: this.values[0],
      atEnd: this.values[this.values.length - 1],
      median: median(this.values),
      max: Math.max(...this.values),
      samples: this.values.length,
      shareAboveCores: this.values.filter((v) => v > cpus().length).length / this.values.length,
    };
  }
}
