/**
 * Severities, most severe first. `ok` records a check that passed, with its evidence; it never
 * fails a run.
 */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info', 'ok'] as const;
export type Severity = typeof SEVERITIES[number];

/** The severities `--fail-on` accepts (`never` turns the gate off). */
export const FAIL_ON_CHOICES = ['critical', 'high', 'medium', 'low', 'info', 'never'] as const;
export type FailOn = typeof FAIL_ON_CHOICES[number];

/** Where a finding comes from: the sections of the report, in the order they are printed. */
export const SECTIONS = ['broker', 'metrics', 'fleet', 'live'] as const;
export type Section = typeof SECTIONS[number];

/** One result of one check. */
export interface Finding {
  /** Stable id of the check (`fleet.mingle`), the same in every run: filter and suppress by it. */
  readonly check: string;
  readonly section: Section;
  readonly severity: Severity;
  /** What the finding is about: a broker, an Auto Scaling group, a worker node, an alarm. */
  readonly subject: string;
  /** One line: what was found. */
  readonly title: string;
  /** The numbers, times and names it rests on. */
  readonly evidence: string[];
  /** What addresses it: the construct prop or the setting. Empty for `ok`. */
  readonly fix?: string;
}

/** Rank of a severity: 0 is the most severe. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Whether `severity` is at least as severe as `threshold`. */
export function atLeast(severity: Severity, threshold: FailOn): boolean {
  if (threshold === 'never' || severity === 'ok') return false;
  return severityRank(severity) <= severityRank(threshold);
}

/** Findings sorted by section, then severity (most severe first), then check id and subject. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) =>
    SECTIONS.indexOf(a.section) - SECTIONS.indexOf(b.section)
    || severityRank(a.severity) - severityRank(b.severity)
    || a.check.localeCompare(b.check)
    || a.subject.localeCompare(b.subject));
}

/** The most severe finding (the first one found on ties), or undefined when all are `ok`. */
export function worstFinding(findings: Finding[]): Finding | undefined {
  let worst: Finding | undefined;
  for (const f of findings) {
    if (f.severity === 'ok') continue;
    if (!worst || severityRank(f.severity) < severityRank(worst.severity)) worst = f;
  }
  return worst;
}
