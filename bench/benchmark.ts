import { BenchBroker, benchBroker, BROKER_SETUPS, BrokerSetup } from './broker-setups';
import { IdleFleetSpec, IdleResult, measureIdle } from './idle-cost';
import { JoinCell, runJoinCells } from './join-ingress';
import { LoadSampler, LoadSummary, MachineInfo, machineInfo } from './machine';
import { FloorResult, measureFloors } from './physical-floor';
import { simulateSpreadCases, SpreadResult } from './restart-spread';
import { measureWave, WAVE_MODES, WaveResult } from './restart-waves';
import { measureSynth, SynthResult } from './synth-cost';
import { evaluateTargets, TargetResult } from './targets';
import { unsupportedReason, VARIANTS } from './worker-commands';
import { CeleryInstall, celeryInstalls, stopAllWorkers } from '../test/harness/celery';
import { RabbitMq, RabbitMqProfileName, startRabbitMq } from '../test/harness/rabbitmq';

/** What a run covers. The full plan is the issue's; `QUICK_PLAN` is its smallest cell. */
export interface BenchPlan {
  readonly ns: number[];
  readonly rs: number[];
  /** Joins per cell (the cell's value is their median). */
  readonly repetitions: number;
  /** Samples of each physical floor. */
  readonly floorRepetitions: number;
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

/**
 * The issue's grid on every broker setup and Celery installation that runs there: 8 (setup,
 * Celery) pairs, 144 join cells. Two joins per cell: the counts are those of a deterministic
 * protocol exchange (the generated join's samples are equal to the byte, the baseline's within
 * 0.1 % once it holds revoked ids; only its heartbeat events at R=0 vary by a few hundred bytes),
 * so a third would add minutes on two shared cores, not information.
 */
export const FULL_PLAN: BenchPlan = {
  ns: [1, 3, 5],
  rs: [0, 10_000, 50_000],
  repetitions: 2,
  floorRepetitions: 2,
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
  floorRepetitions: 1,
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
  /** Broker setups to run, in order (default: all). */
  readonly setups?: readonly BrokerSetup[];
  /**
   * Celery installations to run where they can (default: every present one). Each setup runs
   * those its generated command supports; the others are listed with the reason.
   */
  readonly installs?: CeleryInstall[];
  /** Per setup, only the first of the installations it runs (the smoke test's smallest cell). */
  readonly oneInstallPerSetup?: boolean;
  /** Seed of the simulated machine ids. */
  readonly seed: string;
  readonly log?: (line: string) => void;
}

/** One broker setup as it ran. */
export interface BrokerRun {
  readonly setup: BrokerSetup;
  /** RabbitMQ's version, as the node reports it. */
  readonly rabbitmq: string;
  /** Celery versions that ran there. */
  readonly celery: string[];
  /** Installations that did not run there, and why. */
  readonly skipped: Array<{ readonly celery: string; readonly reason: string }>;
  /** The Celery version of the restart waves there (the newest one that runs). */
  readonly waveCelery?: string;
}

export interface BenchResults {
  readonly mode: 'full' | 'quick';
  readonly plan: BenchPlan;
  readonly machine: MachineInfo;
  readonly seed: string;
  readonly brokers: BrokerRun[];
  readonly join: JoinCell[];
  readonly floors: FloorResult[];
  readonly idle: IdleResult[];
  readonly waves: WaveResult[];
  readonly spread: SpreadResult[];
  readonly synth: SynthResult;
  readonly targets: TargetResult[];
  readonly durationMs: number;
  /** 1-minute load average over the run (other suites share the cores). */
  readonly load: LoadSummary;
}

/**
 * Run the plan against private brokers of its own, one profile at a time (the RabbitMQ 4 setups
 * share one broker); every process and directory is gone when it resolves.
 */
export async function runBenchmark(options: BenchOptions): Promise<BenchResults> {
  const started = Date.now();
  const load = new LoadSampler();
  const log = options.log ?? (() => undefined);
  const { plan } = options;
  const setups = options.setups ?? BROKER_SETUPS;
  const installs = (options.installs ?? celeryInstalls()).filter((i) => !i.absent);
  if (installs.length === 0) throw new Error(`no Celery installation: ${celeryInstalls().map((i) => i.absent).join('; ')}`);
  const machine = machineInfo(installs);

  // CPU-only parts first, before any broker or worker competes for the cores.
  log(`synth: ${plan.synthFleets.join(', ')} fleets`);
  const synth = measureSynth(plan.synthFleets, plan.synthRepetitions);
  log(`restart spread: ${plan.spreadInstances.join(', ')} instances x ${plan.spreadFleets} fleets`);
  const spread = simulateSpreadCases(plan.spreadInstances, plan.spreadFleets, options.seed);

  const brokers: BrokerRun[] = [];
  const join: JoinCell[] = [];
  const floors: FloorResult[] = [];
  const idle: IdleResult[] = [];
  const waves: WaveResult[] = [];
  const profiles = [...new Set(setups.map((s) => s.profile))];
  for (const profile of profiles) {
    const runs = await runProfile(profile, setups.filter((s) => s.profile === profile), installs, options, log);
    brokers.push(...runs.brokers);
    join.push(...runs.join);
    floors.push(...runs.floors);
    idle.push(...runs.idle);
    waves.push(...runs.waves);
  }
  const targets = evaluateTargets({ join, floors, idle, spread, brokers: brokers.map((b) => ({ name: b.setup.name, celeryVersions: b.celery })) });
  const { mode, seed } = options;
  const durationMs = Date.now() - started;
  return { mode, plan, machine, seed, brokers, join, floors, idle, waves, spread, synth, targets, durationMs, load: load.stop() };
}

interface ProfileRuns {
  readonly brokers: BrokerRun[];
  readonly join: JoinCell[];
  readonly floors: FloorResult[];
  readonly idle: IdleResult[];
  readonly waves: WaveResult[];
}

async function runProfile(
  profile: RabbitMqProfileName, setups: BrokerSetup[], installs: CeleryInstall[], options: BenchOptions, log: (line: string) => void,
): Promise<ProfileRuns> {
  const { plan } = options;
  const out: ProfileRuns = { brokers: [], join: [], floors: [], idle: [], waves: [] };
  let rabbitmq: RabbitMq | undefined;
  try {
    log(`broker ${profile}: starting`);
    rabbitmq = await startRabbitMq({ profile, management: true });
    const runs: Array<{ broker: BenchBroker; installs: CeleryInstall[]; waveInstall: CeleryInstall }> = [];
    for (const setup of setups) {
      const broker = benchBroker(setup, rabbitmq);
      const supported = installs.filter((i) => unsupportedReason(broker, i) === undefined);
      const chosen = options.oneInstallPerSetup ? supported.slice(0, 1) : supported;
      const skipped = installs.filter((i) => !chosen.includes(i))
        .map((i) => ({ celery: i.version!, reason: unsupportedReason(broker, i) ?? 'not in this run (a quick run takes one Celery per broker)' }));
      if (chosen.length === 0) throw new Error(`${setup.name}: none of the Celery installations runs there (${skipped.map((s) => `${s.celery}: ${s.reason}`).join('; ')})`);
      const newest = [...chosen].sort((a, b) => compareVersions(b.version!, a.version!))[0];
      const waveCelery = plan.waveN > 0 ? newest.version : undefined;
      out.brokers.push({ setup, rabbitmq: rabbitmq.version, celery: chosen.map((i) => i.version!), skipped, waveCelery });
      runs.push({ broker, installs: chosen, waveInstall: newest });
      for (const s of skipped) log(`${setup.name}: Celery ${s.celery} does not run here: ${s.reason}`);
    }

    for (const { broker, installs: chosen } of runs) {
      for (const install of chosen) {
        for (const variant of VARIANTS) {
          for (const n of plan.ns) {
            out.join.push(...await runJoinCells({ broker, install, variant, n, rs: plan.rs, repetitions: plan.repetitions, log }));
          }
        }
      }
      for (const install of chosen) {
        const results = await measureFloors(broker, install, plan.floorRepetitions);
        for (const f of results) log(`floor ${broker.setup.name} ${f.celery} (${f.kind}): ${f.samples.join(', ')} bytes`);
        out.floors.push(...results);
      }
    }

    if (plan.idleWindowMs > 0) {
      const specs: IdleFleetSpec[] = runs.flatMap(({ broker, installs: chosen }) =>
        chosen.flatMap((install) => VARIANTS.map((variant) => ({ broker, install, variant }))));
      log(`idle ${profile}: ${specs.length} fleets of ${plan.idleN} workers, ${plan.idleWindowMs / 1000} s`);
      out.idle.push(...await measureIdle(specs, plan.idleN, plan.idleWindowMs));
    }

    if (plan.waveN > 0) {
      for (const { broker, waveInstall: install } of runs) {
        for (const variant of VARIANTS) {
          for (const mode of WAVE_MODES) {
            const wave = await measureWave(broker, install, variant, mode, plan.waveN, plan.waveR);
            log(`wave ${broker.setup.name} ${install.version} ${variant} ${mode}: ${wave.bytes} bytes in ${wave.durationMs} ms`);
            out.waves.push(wave);
          }
        }
      }
    }
    return out;
  } finally {
    await stopAllWorkers(2_000);
    await rabbitmq?.stop();
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
