/**
 * Ingest: signed webhooks from a load generator, each with its own `webhook-id`, counted by
 * the durable answer (202) the gateway gives once the event and its job are committed. Beside
 * it, round after round, the same load against a bare handler that only checks the HMAC and
 * commits two rows (bench/bare-ingest.ts): the figure the baseline describes, measured
 * on this machine rather than quoted.
 *
 * Delivery is held back while it runs (the emulator answers only after the run), so the figure
 * is the intake alone; the workers claim their first jobs and then wait on FCM.
 */
import type { Database } from '../src/db/connection';
import { signatureHeaders } from '../src/auth/webhook-signature';
import { BENCH_SOURCE, BENCH_WEBHOOK_SECRET } from './herald-client';
import { load, type LoadResult } from './load';
import { cpuMs, startBareIngest, type EmulatorProcess, type GatewayProcess } from './processes';
import { median } from './report';

const CONNECTIONS = 32;
const WARM_UP_SECONDS = 3;

export interface IngestRun extends LoadResult {
  /** 202 answers per second. */
  acceptedPerSecond: number;
  /** CPU time of the answering process (Herald or the bare handler) per request sent. */
  cpuUsPerRequest: number;
}

export interface IngestResult extends IngestRun {
  connections: number;
  rounds: number;
  /** Every round of Herald; the top-level figures are those of its median round. */
  herald: IngestRun[];
  /** The bare handler's rounds, and its median round. */
  bare: IngestRun[];
  bareMedian: IngestRun;
  /** The median over rounds of Herald's 202s per second over the bare handler's. */
  ratio: number;
  /** Notifications of the measured runs found in the database afterwards (≥ their 202s). */
  stored: number;
}

export async function runIngest(context: {
  db: Database;
  databaseUrl: string;
  gateway: GatewayProcess;
  emulator: EmulatorProcess;
  durationSeconds: number;
  rounds: number;
  cpuProfileDir?: string;
  log: (line: string) => void;
}): Promise<IngestResult> {
  const { db, gateway, emulator, durationSeconds, rounds, log } = context;
  // A chat message to one user: the most common webhook, one notification row and one job.
  const body = JSON.stringify({
    type: 'chat.message.created',
    data: {
      recipientUserId: '1',
      senderName: 'Ada',
      messagePreview: 'Are we still on for lunch tomorrow?',
      conversationId: 'conversation-42',
    },
  });
  const requestFor = (prefix: string) => {
    let sequence = 0;
    return {
      method: 'POST',
      path: `/v1/webhooks/${BENCH_SOURCE}`,
      setupRequest: () => {
        sequence += 1;
        return {
          method: 'POST',
          path: `/v1/webhooks/${BENCH_SOURCE}`,
          headers: {
            'content-type': 'application/json',
            ...signatureHeaders(BENCH_WEBHOOK_SECRET, `${prefix}-${sequence}`, body),
          },
          body,
        };
      },
    };
  };
  const run = async (
    target: { url: string; pid: number },
    prefix: string,
    seconds: number,
  ): Promise<IngestRun> => {
    const request = requestFor(prefix);
    const cpuBefore = cpuMs(target.pid);
    const result = await load({
      url: target.url,
      connections: CONNECTIONS,
      durationSeconds: seconds,
      request,
    });
    const requests = Object.values(result.statuses).reduce((sum, n) => sum + n, 0);
    return {
      ...result,
      acceptedPerSecond: (result.statuses['202'] ?? 0) / result.durationSeconds,
      cpuUsPerRequest: ((cpuMs(target.pid) - cpuBefore) * 1000) / Math.max(1, requests),
    };
  };

  const runsSeconds = rounds * 2 * (durationSeconds + WARM_UP_SECONDS);
  await emulator.setLatency((runsSeconds + 60) * 1000);
  const bare = await startBareIngest(context.databaseUrl, BENCH_WEBHOOK_SECRET, {
    cpuProfileDir: context.cpuProfileDir,
  });
  const results = { herald: [] as IngestRun[], bare: [] as IngestRun[] };
  try {
    await run(gateway, 'warm', WARM_UP_SECONDS);
    await run(bare, 'bare-warm', WARM_UP_SECONDS);
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 === 1 ? (['herald', 'bare'] as const) : (['bare', 'herald'] as const);
      for (const which of order) {
        const measured = await run(
          which === 'herald' ? gateway : bare,
          `${which === 'herald' ? 'ingest' : 'bare'}-${round}`,
          durationSeconds,
        );
        results[which].push(measured);
        log(
          `  ingest round ${round} ${which}: ${Math.round(measured.acceptedPerSecond)}/s, ` +
            `p50 ${measured.latencyMs.p50} ms, p99 ${measured.latencyMs.p99} ms, ` +
            `${Math.round(measured.cpuUsPerRequest)} µs CPU/req, ` +
            `statuses ${JSON.stringify(measured.statuses)}`,
        );
      }
    }
  } finally {
    await bare.stop();
  }

  const accepted = results.herald.reduce((sum, r) => sum + (r.statuses['202'] ?? 0), 0);
  const [row] = await db('notifications')
    .where({ source: BENCH_SOURCE })
    .andWhere('webhook_id', 'like', 'ingest-%')
    .count<Array<{ n: number | string }>>({ n: '*' });
  const stored = Number(row.n);
  if (stored < accepted) throw new Error(`${accepted} webhooks answered 202 but ${stored} stored`);

  const heraldMedian = medianRun(results.herald);
  const bareMedian = medianRun(results.bare);
  return {
    ...heraldMedian,
    connections: CONNECTIONS,
    rounds,
    ...results,
    bareMedian,
    // Each round's ratio, taken back to back under the same load on the machine; its median.
    ratio: median(
      results.herald.map((r, i) => r.acceptedPerSecond / results.bare[i].acceptedPerSecond),
    ),
    stored,
  };
}

/** The round whose rate is the median (of an even count, the upper of the middle two). */
function medianRun(runs: IngestRun[]): IngestRun {
  const rate = median(runs.map((r) => r.acceptedPerSecond));
  const sorted = [...runs].sort((a, b) => a.acceptedPerSecond - b.acceptedPerSecond);
  return sorted.find((r) => r.acceptedPerSecond >= rate) ?? sorted[sorted.length - 1];
}
