/**
 * A reader of the Prometheus text exposition format (version 0.0.4) that also reports where a
 * text breaks the format's rules or Prometheus's naming conventions, the checks that
 * `promtool check metrics` makes. Tests use it where promtool is not installed.
 */

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help?: string;
  type?: string;
  samples: Sample[];
}

export interface Exposition {
  families: Map<string, Family>;
  /** Breaches of the format; empty for a valid text. */
  problems: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;

/** A sample value as Prometheus reads it (Go's ParseFloat: `NaN`, `+Inf` in any case). */
function parseValue(text: string): number | undefined {
  if (/^[+]?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const value = Number(text);
  return text.trim() !== '' && !Number.isNaN(value) ? value : undefined;
}

/** `a="x",b="y\"z"` → labels, or a string saying what is wrong. */
function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  let rest = text.trim();
  while (rest !== '') {
    const name = /^([^=\s]+)\s*=\s*"/.exec(rest);
    if (!name) return `malformed labels {${text}}`;
    if (!LABEL_NAME.test(name[1])) return `invalid label name "${name[1]}"`;
    if (name[1].startsWith('__')) return `reserved label name "${name[1]}"`;
    if (name[1] in labels) return `label "${name[1]}" given twice`;
    let i = name[0].length;
    let value = '';
    for (; i < rest.length && rest[i] !== '"'; i += 1) {
      if (rest[i] !== '\\') {
        value += rest[i];
        continue;
      }
      const escaped = rest[i + 1];
      if (escaped === 'n') value += '\n';
      else if (escaped === '\\' || escaped === '"') value += escaped;
      else return `invalid escape \\${escaped} in label "${name[1]}"`;
      i += 1;
    }
    if (rest[i] !== '"') return `unterminated value of label "${name[1]}"`;
    labels[name[1]] = value;
    rest = rest.slice(i + 1).trim();
    if (rest.startsWith(',')) rest = rest.slice(1).trim();
    else if (rest !== '') return `malformed labels {${text}}`;
  }
  return labels;
}

/** The family a sample belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const family = families.get(base);
  if (family?.type === 'histogram') return family;
  if (family?.type === 'summary' && !name.endsWith('_bucket')) return family;
  return undefined;
}

function seriesKey(sample: Sample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(sample.labels[key])}`);
  return `${sample.name}{${labels.join(',')}}`;
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const problems: string[] = [];
  const seen = new Set<string>();
  const finished = new Set<string>();
  let current: string | undefined;

  const declare = (name: string) => {
    if (!METRIC_NAME.test(name)) problems.push(`invalid metric name "${name}"`);
    if (current !== undefined && current !== name) finished.add(current);
    if (finished.has(name)) problems.push(`${name}: lines of the family are not together`);
    current = name;
    let family = families.get(name);
    if (!family) families.set(name, (family = { name, samples: [] }));
    return family;
  };

  if (text !== '' && !text.endsWith('\n')) problems.push('the text does not end with a newline');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      const family = declare(name);
      if (kind === 'HELP') {
        if (family.help !== undefined) problems.push(`${name}: HELP given twice`);
        family.help = rest;
      } else {
        if (family.type !== undefined) problems.push(`${name}: TYPE given twice`);
        if (family.samples.length > 0) problems.push(`${name}: TYPE after its samples`);
        if (!TYPES.has(rest)) problems.push(`${name}: unknown type "${rest}"`);
        family.type = rest;
      }
      continue;
    }
    if (line.startsWith('#')) continue;

    const match = SAMPLE.exec(line);
    if (!match) {
      problems.push(`not a sample line: ${line}`);
      continue;
    }
    const [, name, labelText = '', valueText] = match;
    const labels = parseLabels(labelText);
    const value = parseValue(valueText);
    if (typeof labels === 'string') problems.push(`${name}: ${labels}`);
    if (value === undefined) problems.push(`${name}: invalid value "${valueText}"`);
    if (typeof labels === 'string' || value === undefined) continue;

    const family = familyOf(name, families) ?? declare(name);
    if (family.name !== current) declare(family.name);
    const sample = { name, labels, value };
    const key = seriesKey(sample);
    if (seen.has(key)) problems.push(`${key}: the same series twice`);
    seen.add(key);
    family.samples.push(sample);
  }

  for (const family of families.values()) {
    if (family.type === 'histogram') problems.push(...histogramProblems(family));
  }
  return { families, problems };
}

/** Buckets of each series rise with `le`, and the `+Inf` bucket equals `_count`. */
function histogramProblems(family: Family): string[] {
  const problems: string[] = [];
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = seriesKey({ ...sample, name: family.name, labels: rest });
    let entry = series.get(key);
    if (!entry) series.set(key, (entry = { buckets: [] }));
    if (sample.name === `${family.name}_bucket`) {
      const bound = le === undefined ? undefined : parseValue(le);
      if (bound === undefined) problems.push(`${key}: bucket without a valid le`);
      else entry.buckets.push([bound, sample.value]);
    } else if (sample.name === `${family.name}_count`) {
      entry.count = sample.value;
    }
  }
  for (const [key, { buckets, count }] of series) {
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.some(([, value], i) => i > 0 && value < sorted[i - 1][1])) {
      problems.push(`${key}: bucket counts fall as le rises`);
    }
    const last = sorted.at(-1);
    if (!last || last[0] !== Infinity) problems.push(`${key}: no le="+Inf" bucket`);
    else if (count !== last[1]) problems.push(`${key}: _count differs from the +Inf bucket`);
  }
  return problems;
}

const ABBREVIATED_UNITS =
  /_(ms|msec|millis|us|usec|ns|sec|secs|min|mins|hrs|kb|mb|gb|percent)(_|$)/;

/** Prometheus's naming conventions (promtool's lint), for the families named by `include`. */
export function conventionProblems(
  exposition: Exposition,
  include: (name: string) => boolean = () => true,
): string[] {
  const problems: string[] = [];
  for (const family of exposition.families.values()) {
    const { name, type } = family;
    if (!include(name)) continue;
    if (!family.help || family.help.trim() === '') problems.push(`${name}: no HELP text`);
    if (type === undefined) problems.push(`${name}: no TYPE`);
    if (type === 'counter' && !name.endsWith('_total')) {
      problems.push(`${name}: a counter's name should end in _total`);
    }
    if (type !== 'counter' && name.endsWith('_total')) {
      problems.push(`${name}: only counters end in _total`);
    }
    if (type !== 'histogram' && type !== 'summary' && /_(count|sum|bucket)$/.test(name)) {
      problems.push(`${name}: _count, _sum and _bucket belong to histograms and summaries`);
    }
    if (/[a-z][A-Z]/.test(name)) problems.push(`${name}: names are snake_case, not camelCase`);
    if (name.includes(':')) problems.push(`${name}: colons are for recording rules`);
    if (ABBREVIATED_UNITS.test(name)) problems.push(`${name}: units are written whole and base`);
  }
  return problems;
}

/** The value of one series, by its sample name and exactly its labels; undefined if absent. */
export function valueOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const key = seriesKey({ name, labels, value: 0 });
  for (const family of exposition.families.values()) {
    const sample = family.samples.find((s) => seriesKey(s) === key);
    if (sample) return sample.value;
  }
  return undefined;
}

/** Every series of a sample name, as `labels → value` with labels written `a=x,b=y`. */
export function seriesOf(exposition: Exposition, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const family of exposition.families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const labels = Object.entries(sample.labels).map(([key, value]) => `${key}=${value}`);
      out[labels.join(',')] = sample.value;
    }
  }
  return out;
}
