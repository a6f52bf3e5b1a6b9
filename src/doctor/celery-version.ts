/** A `MAJOR.MINOR.PATCH` version, as numbers. */
export type Version = [number, number, number];

/** Parse `5.6.3`, `5.6.3 (recovery)`, `5.2`, `v4.2.1`; undefined when there is no version in it. */
export function parseVersion(text: string | undefined): Version | undefined {
  if (!text) return undefined;
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether `version` is older than `than` (both as text). Undefined when either does not parse. */
export function olderThan(version: string | undefined, than: string): boolean | undefined {
  const v = parseVersion(version);
  const t = parseVersion(than);
  if (!v || !t) return undefined;
  return compareVersions(v, t) < 0;
}

/**
 * Celery versions pinned in user data: `pip install celery==5.2.7`, `"celery[sqs]==5.3.6"`,
 * `celery>=5.4,<6` (the lower bound is reported), requirement lines `celery==5.2.6`.
 */
export function celeryPins(text: string): string[] {
  const pins = new Set<string>();
  for (const m of text.matchAll(/\bcelery(?:\[[^\]]*\])?\s*(==|~=|>=)\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)/gi)) {
    pins.add(m[1] === '==' ? m[2] : `${m[1]}${m[2]}`);
  }
  return [...pins];
}
