import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { sampleExposition } from './sample-registry';

const OPS = join(__dirname, '..', '..', 'ops');
const promtool = spawnSync('promtool', ['--version']).status === 0;

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos?: object;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function dashboard(): { panels: Panel[]; templating: { list: Array<{ name: string }> } } {
  return JSON.parse(readFileSync(join(OPS, 'grafana-dashboard.json'), 'utf8'));
}

function panelsOf(list: Panel[]): Panel[] {
  return list.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
}

function rules(): Rule[] {
  const file = parse(readFileSync(join(OPS, 'prometheus-rules.yml'), 'utf8')) as {
    groups: Array<{ rules: Rule[] }>;
  };
  return file.groups.flatMap((group) => group.rules);
}

let sample: ReturnType<typeof sampleExposition> | undefined;

/** Labels every scraped series has besides its own. */
const TARGET_LABELS = ['instance', 'job'];

/**
 * Where a query names a metric the gateway does not expose, or a label that metric does not
 * have: the mistakes that make a panel silently empty or an alert never fire.
 */
async function unknownReferences(expr: string): Promise<string[]> {
  const { exposition } = await (sample ??= sampleExposition());
  const labelsOf = new Map<string, Set<string>>();
  for (const family of exposition.families.values()) {
    for (const sample of family.samples) {
      const labels = labelsOf.get(sample.name) ?? new Set(TARGET_LABELS);
      for (const label of Object.keys(sample.labels)) labels.add(label);
      labelsOf.set(sample.name, labels);
    }
  }

  const problems: string[] = [];
  const used = new Set<string>();
  for (const [, name, matchers = ''] of expr.matchAll(
    /\b((?:herald|process|nodejs)_\w+)(?:\{([^}]*)\})?/g,
  )) {
    const labels = labelsOf.get(name);
    if (!labels) {
      problems.push(`unknown metric ${name}`);
      continue;
    }
    labels.forEach((label) => used.add(label));
    for (const [, label] of matchers.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
      if (!labels.has(label)) problems.push(`${name} has no label ${label}`);
    }
  }
  for (const [, list] of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
    for (const label of list.split(',').map((l) => l.trim())) {
      if (!used.has(label)) problems.push(`no metric of the query has label ${label}`);
    }
  }
  return problems;
}

describe('the query checker of these tests', () => {
  it('flags unknown metrics and labels', async () => {
    const expr =
      'sum by (plugn) (rate(herald_fcm_messages_total{outcom="failure"}[5m])) / herald_nope_total';

    expect(await unknownReferences(expr)).toEqual([
      'herald_fcm_messages_total has no label outcom',
      'unknown metric herald_nope_total',
      'no metric of the query has label plugn',
    ]);
  });
});

describe('ops/grafana-dashboard.json', () => {
  it('is a dashboard whose panels each have an id, a place and a description', () => {
    const all = panelsOf(dashboard().panels);

    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    for (const panel of all) {
      expect(panel.gridPos).toBeDefined();
      if (panel.type !== 'row') expect(panel.description?.length).toBeGreaterThan(10);
    }
    expect(dashboard().templating.list.map((v) => v.name)).toEqual(
      expect.arrayContaining(['datasource', 'instance']),
    );
  });

  it('shows delivery by outcome, FCM latency quantiles, pruned tokens, queue, webhooks', () => {
    const exprs = panelsOf(dashboard().panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const some = (pattern: RegExp) => exprs.some((expr) => pattern.test(expr));

    expect(some(/by \(outcome\) \(rate\(herald_fcm_messages_total/)).toBe(true);
    for (const q of ['0.5', '0.9', '0.99']) {
      expect(
        some(new RegExp(`histogram_quantile\\(${q}, .*herald_fcm_send_duration_seconds_bucket`)),
      ).toBe(true);
    }
    expect(some(/herald_tokens_pruned_total/)).toBe(true);
    expect(some(/max by \(state\) \(herald_queue_jobs/)).toBe(true);
    expect(some(/by \(status\) \(rate\(herald_webhook_requests_total/)).toBe(true);
  });

  it('queries only metrics and labels the gateway exposes', async () => {
    for (const panel of panelsOf(dashboard().panels)) {
      for (const { expr } of panel.targets ?? []) {
        expect([panel.title, await unknownReferences(expr)]).toEqual([panel.title, []]);
      }
    }
  });

  (promtool ? it : it.skip)('has queries PromQL parses, when promtool is installed', () => {
    const exprs = panelsOf(dashboard().panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const asRules = exprs.map(
      (expr, i) =>
        `      - record: dashboard:query${i}\n        expr: ${JSON.stringify(
          expr.replaceAll('$__rate_interval', '5m').replace(/\$\w+/g, '.*'),
        )}`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'herald-dashboard-'));
    try {
      writeFileSync(
        join(dir, 'queries.yml'),
        `groups:\n  - name: q\n    rules:\n${asRules.join('\n')}\n`,
      );
      const check = spawnSync('promtool', ['check', 'rules', join(dir, 'queries.yml')], {
        encoding: 'utf8',
      });
      expect(`${check.stdout}${check.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ops/prometheus-rules.yml', () => {
  it('alerts on failure ratio, a growing queue, FCM auth errors and no successful send', () => {
    expect(rules().map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'HeraldDeliveryFailureRatioHigh',
        'HeraldQueueGrowing',
        'HeraldFcmAuthErrors',
        'HeraldNoSuccessfulSend',
      ]),
    );
  });

  it('gives every alert a severity, a summary and a description', () => {
    for (const rule of rules()) {
      expect([rule.alert, rule.labels?.severity]).toEqual([
        rule.alert,
        expect.stringMatching(/^(warning|critical)$/),
      ]);
      expect(rule.annotations?.summary).toBeDefined();
      expect(rule.annotations?.description).toBeDefined();
    }
  });

  it('queries only metrics and labels the gateway exposes', async () => {
    for (const rule of rules()) {
      expect([rule.alert, await unknownReferences(rule.expr)]).toEqual([rule.alert, []]);
    }
  });

  (promtool ? it : it.skip)('passes promtool check rules and its unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', 'prometheus-rules.yml'], {
      cwd: OPS,
      encoding: 'utf8',
    });
    const test = spawnSync('promtool', ['test', 'rules', 'prometheus-rules.test.yml'], {
      cwd: OPS,
      encoding: 'utf8',
    });

    expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.any(String)]);
    expect([test.status, test.stdout + test.stderr]).toEqual([
      0,
      expect.stringContaining('SUCCESS'),
    ]);
  });
});
