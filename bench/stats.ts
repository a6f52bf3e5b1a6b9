/** Small statistics for benchmark results. */

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Value at quantile `q` (0..1), nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export interface LinearFit {
  readonly slope: number;
  readonly intercept: number;
  /** Largest |residual| relative to the fitted value, over the points. */
  readonly maxRelativeResidual: number;
}

/** Least-squares line through (x, y). */
export function linearFit(points: Array<[number, number]>): LinearFit {
  if (points.length < 2) throw new Error('a line needs at least two points');
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const maxRelativeResidual = Math.max(...points.map(([x, y]) => Math.abs(y - (intercept + slope * x)) / Math.abs(intercept + slope * x)));
  return { slope, intercept, maxRelativeResidual };
}
