/** Markdown rendering helpers for the result tables. */

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Whole bytes with thousands separators. */
export function bytes(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A ratio such as 1,234x; infinite when the divisor is 0. */
export function ratio(numerator: number, denominator: number): string {
  if (denominator <= 0) return numerator > 0 ? 'inf (0 bytes in the window)' : 'n/a';
  const r = numerator / denominator;
  return `${r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(r >= 10 ? 1 : 2)}x`;
}

export function ms(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n).toLocaleString('en-US')} ms`;
}
