import { ControlRequest } from './facts';
import { FailOn, Finding, SEVERITIES, SECTIONS, Section, Severity, atLeast, sortFindings, worstFinding } from './finding';
import { JoinCost } from './join-cost';

/** Version of the `--json` document; bumped on any incompatible change (see report-schema.ts). */
export const REPORT_SCHEMA_VERSION = 1;

/** Exit codes. */
export const EXIT = {
  /** No finding at or above `--fail-on`, and every requested section was read. */
  OK: 0,
  /** At least one finding at or above `--fail-on`. */
  FINDINGS: 1,
  /** Bad arguments. */
  USAGE: 2,
  /** A requested section could not be read (and no finding reached `--fail-on`). */
  INCOMPLETE: 3,
} as const;

export interface SectionStatus {
  /** `read`: checked; `skipped`: not requested (the reason says which option enables it); `failed`: requested but not readable. */
  readonly status: 'read' | 'skipped' | 'failed';
  readonly reason?: string;
}

export interface DoctorReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly generatedAt: string;
  readonly input: {
    readonly broker?: string;
    readonly region?: string;
    readonly autoScalingGroups: string[];
    readonly window: { readonly start: string; readonly end: string };
    readonly failOn: FailOn;
  };
  readonly sections: { [S in Section]: SectionStatus };
  readonly findings: Finding[];
  /** Every remote-control request sent to the workers (method, destination, replies, bytes). */
  readonly remoteControlRequests: ControlRequest[];
  readonly summary: {
    readonly worst: Finding | null;
    readonly counts: { [S in Severity]: number };
    readonly joinCost: JoinCost | null;
    readonly exitCode: number;
  };
}

export interface BuildReportInput {
  readonly generatedAt: Date;
  readonly input: DoctorReport['input'];
  readonly sections: { [S in Section]: SectionStatus };
  readonly findings: Finding[];
  readonly remoteControlRequests: ControlRequest[];
  readonly joinCost?: JoinCost;
}

export function exitCodeFor(findings: Finding[], sections: { [S in Section]: SectionStatus }, failOn: FailOn): number {
  if (findings.some((f) => atLeast(f.severity, failOn))) return EXIT.FINDINGS;
  if (SECTIONS.some((s) => sections[s].status === 'failed')) return EXIT.INCOMPLETE;
  return EXIT.OK;
}

export function buildReport(r: BuildReportInput): DoctorReport {
  const findings = sortFindings(r.findings);
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as { [S in Severity]: number };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: r.generatedAt.toISOString(),
    input: r.input,
    sections: r.sections,
    findings,
    remoteControlRequests: r.remoteControlRequests,
    summary: {
      worst: worstFinding(findings) ?? null,
      counts,
      joinCost: r.joinCost ?? null,
      exitCode: exitCodeFor(findings, r.sections, r.input.failOn),
    },
  };
}
