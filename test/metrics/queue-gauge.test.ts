import { createMetrics } from '../../src/metrics';
import { parseExposition, seriesOf } from './prometheus-text';

async function scrape(metrics: ReturnType<typeof createMetrics>) {
  return parseExposition(await metrics.registry.metrics());
}

describe('herald_queue_jobs', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('reads the queue on every scrape, one series per state', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let depth = { ready: 4, scheduled: 1, leased: 2 };
    metrics.setQueueDepthReader(async () => depth);

    const first = seriesOf(await scrape(metrics), 'herald_queue_jobs');
    depth = { ready: 0, scheduled: 0, leased: 1 };
    const second = seriesOf(await scrape(metrics), 'herald_queue_jobs');

    expect(first).toEqual({ 'state=ready': 4, 'state=scheduled': 1, 'state=leased': 2 });
    expect(second).toEqual({ 'state=ready': 0, 'state=scheduled': 0, 'state=leased': 1 });
  });

  it('is left out, and the scrape still answers, when the database fails', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.setQueueDepthReader(async () => ({ ready: 3 }));
    await scrape(metrics);
    metrics.setQueueDepthReader(() => Promise.reject(new Error('connect ECONNREFUSED')));
    metrics.webhookRequests.inc({ source: 'shop', status: '503' });

    const exposition = await scrape(metrics);

    expect(seriesOf(exposition, 'herald_queue_jobs')).toEqual({});
    expect(seriesOf(exposition, 'herald_webhook_requests_total')).toEqual({
      'source=shop,status=503': 1,
    });
  });

  it('gives up on a database that does not answer, instead of holding the scrape', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.setQueueDepthReader(() => new Promise(() => undefined));

    const scraping = scrape(metrics);
    await jest.advanceTimersByTimeAsync(2_000);

    expect(seriesOf(await scraping, 'herald_queue_jobs')).toEqual({});
  });
});
