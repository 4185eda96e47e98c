/** Medians, and the table `npm run bench` prints. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface Row {
  figure: string;
  value: string;
  goal: string;
  /** undefined where the issue sets no goal. */
  met?: boolean;
}

export function table(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.figure,
    r.value,
    r.goal,
    r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const header = ['figure', 'measured', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

export const formatRate = (perSecond: number, unit: string) =>
  `${Math.round(perSecond).toLocaleString('en-US')} ${unit}/s`;

export const formatMs = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;

export const formatMiB = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
