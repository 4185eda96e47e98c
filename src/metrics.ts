import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Reads the job queue's size by state when Prometheus scrapes. */
export type QueueDepthReader = () => Promise<Record<string, number>>;

/** Prometheus gives up on a scrape after 10 s by default; a slow count must not cost it all. */
const QUEUE_READ_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Every metric of API.md §8, in one registry per gateway (tests build one each, so counts never
 * leak between them). Label names are declared up front and label values stay bounded: routes
 * are patterns, sources are configured names or `unknown`.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  let readQueueDepth: QueueDepthReader | undefined;

  const metrics = {
    registry,
    webhookRequests: new Counter({
      name: 'herald_webhook_requests_total',
      help: 'Webhook requests answered, by source (unknown: not configured) and HTTP status',
      labelNames: ['source', 'status'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'herald_notifications_total',
      help: 'Notifications that reached their final status, by plugin and status',
      labelNames: ['plugin', 'status'] as const,
      registers: [registry],
    }),
    fcmMessages: new Counter({
      name: 'herald_fcm_messages_total',
      help:
        'FCM message attempts by plugin, outcome (success; retry: will be tried again; failure: ' +
        'final, pruned tokens included) and FCM error code (empty on success, NETWORK for transport)',
      labelNames: ['plugin', 'outcome', 'error_code'] as const,
      registers: [registry],
    }),
    fcmSendDuration: new Histogram({
      name: 'herald_fcm_send_duration_seconds',
      help: 'Seconds one FCM batch send (up to 500 messages) took, by plugin',
      labelNames: ['plugin'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    tokensPruned: new Counter({
      name: 'herald_tokens_pruned_total',
      help: 'Device tokens removed because FCM declared them dead, by FCM error code',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    deviceRegistrations: new Counter({
      name: 'herald_device_registrations_total',
      help: 'Device registrations by platform and outcome (created, updated, rejected)',
      labelNames: ['platform', 'outcome'] as const,
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'herald_queue_jobs',
      help:
        'Delivery jobs in the shared queue, read when scraped: ready (due), scheduled (a retry ' +
        'waiting for its time), leased (being sent)',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        if (!readQueueDepth) return;
        this.reset();
        // A scrape during a database outage still answers, in time, with the other metrics.
        const depth = await withTimeout(readQueueDepth(), QUEUE_READ_TIMEOUT_MS).catch(() => {});
        for (const [state, count] of Object.entries(depth ?? {})) this.set({ state }, count);
      },
    }),
    httpRequestDuration: new Histogram({
      name: 'herald_http_request_duration_seconds',
      help:
        'Seconds to answer an HTTP request, by method, route pattern (never the raw path) ' +
        'and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    /** Tells the queue gauge where to read from (the queue exists after the metrics). */
    setQueueDepthReader(reader: QueueDepthReader) {
      readQueueDepth = reader;
    },
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
