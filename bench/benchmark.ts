import { IdleResult, measureIdle } from './idle-cost';
import { JoinCell, runJoinCells } from './join-ingress';
import { currentLoad, MachineInfo, machineInfo } from './machine';
import { FloorResult, measureFloor } from './physical-floor';
import { simulateSpreadCases, SpreadResult } from './restart-spread';
import { measureWave, WAVE_MODES, WaveResult } from './restart-waves';
import { measureSynth, SynthResult } from './synth-cost';
import { evaluateTargets, TargetResult } from './targets';
import { VARIANTS } from './worker-commands';
import { CeleryInstall, celeryInstalls, stopAllWorkers } from '../test/harness/celery';
import { RabbitMq, startRabbitMq } from '../test/harness/rabbitmq';

/** What a run covers. The full plan is the issue's; `quickPlan` is its smallest cell. */
export interface BenchPlan {
  readonly ns: number[];
  readonly rs: number[];
  readonly repetitions: number;
  /** Idle window; 0 skips idle cost. */
  readonly idleWindowMs: number;
  readonly idleN: number;
  /** Restart waves: fleet size (0 skips) and revoked ids held. */
  readonly waveN: number;
  readonly waveR: number;
  readonly spreadInstances: number[];
  readonly spreadFleets: number;
  readonly synthFleets: number[];
  readonly synthRepetitions: number;
}

export const FULL_PLAN: BenchPlan = {
  ns: [1, 3, 5],
  rs: [0, 10_000, 50_000],
  repetitions: 3,
  idleWindowMs: 60_000,
  idleN: 3,
  waveN: 5,
  waveR: 50_000,
  spreadInstances: [30, 100],
  spreadFleets: 1_000,
  synthFleets: [1, 10, 50],
  synthRepetitions: 5,
};

export const QUICK_PLAN: BenchPlan = {
  ns: [1],
  rs: [0],
  repetitions: 1,
  idleWindowMs: 0,
  idleN: 0,
  waveN: 0,
  waveR: 0,
  spreadInstances: [30],
  spreadFleets: 100,
  synthFleets: [1],
  synthRepetitions: 1,
};

export interface BenchOptions {
  readonly plan: BenchPlan;
  readonly mode: 'full' | 'quick';
  /** Celery installations to run (default: every present one). */
  readonly installs?: CeleryInstall[];
  /** Installations of the restart waves (default: the newest present one; waves are the slowest part). */
  readonly waveInstalls?: CeleryInstall[];
  /** Seed of the simulated machine ids. */
  readonly seed: string;
  readonly log?: (line: string) => void;
}

export interface BenchResults {
  readonly mode: 'full' | 'quick';
  readonly plan: BenchPlan;
  readonly machine: MachineInfo;
  readonly seed: string;
  readonly join: JoinCell[];
  readonly floors: FloorResult[];
  readonly idle: IdleResult[];
  readonly waves: WaveResult[];
  readonly spread: SpreadResult[];
  readonly synth: SynthResult;
  readonly targets: TargetResult[];
  readonly durationMs: number;
  /** 1-minute load average at the end (other suites share the cores). */
  readonly loadAtEnd: number;
}

/** Run the plan against a private broker of its own; every process and directory is gone when it resolves. */
export async function runBenchmark(options: BenchOptions): Promise<BenchResults> {
  const started = Date.now();
  const loadAtStart = currentLoad();
  const log = options.log ?? (() => undefined);
  const { plan } = options;
  const installs = options.installs ?? celeryInstalls().filter((i) => !i.absent);
  if (installs.length === 0) throw new Error(`no Celery installation: ${celeryInstalls().map((i) => i.absent).join('; ')}`);
  const newest = [...installs].sort((a, b) => compareVersions(b.version!, a.version!))[0];
  const waveInstalls = options.waveInstalls ?? [newest];

  // CPU-only parts first, before any broker or worker competes for the cores.
  log(`synth: ${plan.synthFleets.join(', ')} fleets`);
  const synth = measureSynth(plan.synthFleets, plan.synthRepetitions);
  log(`restart spread: ${plan.spreadInstances.join(', ')} instances x ${plan.spreadFleets} fleets`);
  const spread = simulateSpreadCases(plan.spreadInstances, plan.spreadFleets, options.seed);

  let broker: RabbitMq | undefined;
  try {
    broker = await startRabbitMq();
    const machine = await machineInfo(broker, installs, loadAtStart);
    const join: JoinCell[] = [];
    for (const install of installs) {
      for (const variant of VARIANTS) {
        for (const n of plan.ns) {
          join.push(...await runJoinCells({ broker, install, variant, n, rs: plan.rs, repetitions: plan.repetitions, log }));
        }
      }
    }
    const floors: FloorResult[] = [];
    for (const install of installs) {
      floors.push(await measureFloor(broker, install, plan.repetitions));
      log(`floor ${install.version}: ${floors[floors.length - 1].samples.join(', ')} bytes`);
    }
    let idle: IdleResult[] = [];
    if (plan.idleWindowMs > 0) {
      log(`idle: ${plan.idleN} workers per fleet, ${plan.idleWindowMs / 1000} s`);
      const specs = installs.flatMap((install) => VARIANTS.map((variant) => ({ install, variant })));
      idle = await measureIdle(broker, specs, plan.idleN, plan.idleWindowMs);
    }
    const waves: WaveResult[] = [];
    if (plan.waveN > 0) {
      for (const install of waveInstalls) {
        for (const variant of VARIANTS) {
          for (const mode of WAVE_MODES) {
            const wave = await measureWave(broker, install, variant, mode, plan.waveN, plan.waveR);
            log(`wave ${install.version} ${variant} ${mode}: ${wave.bytes} bytes in ${wave.durationMs} ms`);
            waves.push(wave);
          }
        }
      }
    }
    const targets = evaluateTargets({ join, floors, idle, spread, celeryVersions: installs.map((i) => i.version!) });
    return {
      mode: options.mode,
      plan,
      machine,
      seed: options.seed,
      join,
      floors,
      idle,
      waves,
      spread,
      synth,
      targets,
      durationMs: Date.now() - started,
      loadAtEnd: currentLoad(),
    };
  } finally {
    await stopAllWorkers(2_000);
    await broker?.stop();
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  }
  return 0;
}
