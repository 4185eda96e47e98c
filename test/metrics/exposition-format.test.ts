import { spawnSync } from 'node:child_process';
import { conventionProblems, parseExposition } from './prometheus-text';
import { sampleExposition } from './sample-registry';

/** API.md §8, word for word: name → type and label names. */
const CONTRACT: Record<string, { type: string; labels: string[] }> = {
  herald_webhook_requests_total: { type: 'counter', labels: ['source', 'status'] },
  herald_notifications_total: { type: 'counter', labels: ['plugin', 'status'] },
  herald_fcm_messages_total: { type: 'counter', labels: ['plugin', 'outcome', 'error_code'] },
  herald_fcm_send_duration_seconds: { type: 'histogram', labels: ['plugin'] },
  herald_tokens_pruned_total: { type: 'counter', labels: ['reason'] },
  herald_device_registrations_total: { type: 'counter', labels: ['platform', 'outcome'] },
  herald_queue_jobs: { type: 'gauge', labels: ['state'] },
  herald_http_request_duration_seconds: {
    type: 'histogram',
    labels: ['method', 'route', 'status'],
  },
};

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('the metrics text', () => {
  it('has exactly the metrics of API.md §8, with their types and labels', async () => {
    const { exposition } = await sampleExposition();

    const herald = [...exposition.families.values()].filter((f) => f.name.startsWith('herald_'));
    expect(herald.map((family) => family.name).sort()).toEqual(Object.keys(CONTRACT).sort());
    for (const family of herald) {
      const labels = new Set(family.samples.flatMap((sample) => Object.keys(sample.labels)));
      labels.delete('le');
      expect([family.name, family.type, [...labels].sort()]).toEqual([
        family.name,
        CONTRACT[family.name].type,
        [...CONTRACT[family.name].labels].sort(),
      ]);
    }
  });

  it('includes the default process metrics', async () => {
    const { exposition } = await sampleExposition();

    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(exposition.families.has(name)).toBe(true);
    }
  });

  it('follows the exposition format: names, HELP and TYPE, labels, values, histograms', async () => {
    const { exposition } = await sampleExposition();

    expect(exposition.problems).toEqual([]);
    for (const family of exposition.families.values()) {
      expect(family.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    }
  });

  it('follows the naming conventions: HELP, _total on counters, units in the name', async () => {
    const { exposition } = await sampleExposition();
    const herald = (name: string) => name.startsWith('herald_');

    expect(conventionProblems(exposition, herald)).toEqual([]);
    for (const family of exposition.families.values()) {
      if (!herald(family.name)) continue;
      expect(family.help?.length).toBeGreaterThan(20);
      if (family.type === 'histogram') expect(family.name).toMatch(/_seconds$/);
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
    }
  });

  it('catches what breaks the rules, so an empty list of problems means something', () => {
    const broken = parseExposition(
      [
        '# HELP herald_sends Sends',
        '# TYPE herald_sends counter',
        'herald_sends{plugin="chat"} 1',
        'herald_sends{plugin="chat"} 2',
        'herald_late_total 3',
        '# TYPE herald_late_total counter',
        '# HELP herald_latency_ms Latency',
        '# TYPE herald_latency_ms gauge',
        'herald_latency_ms 3',
        'herald_oops{9x="a"} 1',
        'herald_nan{a="b"} twelve',
        '# TYPE herald_h histogram',
        'herald_h_bucket{le="1"} 5',
        'herald_h_bucket{le="+Inf"} 4',
        'herald_h_count 4',
        'herald_sends{plugin="topic"} 1',
        'herald_queueDepth_total 3',
      ].join('\n'),
    );

    expect(broken.problems).toEqual([
      'the text does not end with a newline',
      'herald_sends{plugin="chat"}: the same series twice',
      'herald_late_total: TYPE after its samples',
      'herald_oops: invalid label name "9x"',
      'herald_nan: invalid value "twelve"',
      'herald_sends: lines of the family are not together',
      'herald_h{}: bucket counts fall as le rises',
    ]);
    expect(conventionProblems(broken)).toEqual([
      "herald_sends: a counter's name should end in _total",
      'herald_late_total: no HELP text',
      'herald_latency_ms: units are written whole and base',
      'herald_h: no HELP text',
      'herald_queueDepth_total: no HELP text',
      'herald_queueDepth_total: no TYPE',
      'herald_queueDepth_total: only counters end in _total',
      'herald_queueDepth_total: names are snake_case, not camelCase',
    ]);
  });

  (promtool ? it : it.skip)(
    'passes promtool check metrics, when promtool is installed',
    async () => {
      const { text } = await sampleExposition();

      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const heraldProblems = `${check.stdout}${check.stderr}`
        .split('\n')
        .filter((line) => line.includes('herald_'));

      expect(heraldProblems).toEqual([]);
      expect(check.stderr).not.toMatch(/error while linting|parse/i);
    },
  );
});
