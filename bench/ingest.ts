/**
 * Ingest: signed webhooks from a load generator, each with its own `webhook-id`, counted by
 * the durable answer (202) the gateway gives once the event and its job are committed.
 *
 * Delivery is held back while it runs (the emulator answers only after the run), so the figure
 * is the intake alone, the same work as the baseline of a bare handler that checks the
 * HMAC and inserts two rows; the workers claim their first jobs and then wait on FCM.
 */
import type { Database } from '../src/db/connection';
import { signatureHeaders } from '../src/auth/webhook-signature';
import { BENCH_SOURCE, BENCH_WEBHOOK_SECRET } from './herald-client';
import { load, type LoadResult } from './load';
import type { EmulatorProcess, GatewayProcess } from './processes';

const CONNECTIONS = 32;
const WARM_UP_SECONDS = 3;

export interface IngestResult extends LoadResult {
  connections: number;
  /** 202 answers per second. */
  acceptedPerSecond: number;
  /** Notifications of the measured run found in the database afterwards (≥ its 202s). */
  stored: number;
}

export async function runIngest(context: {
  db: Database;
  gateway: GatewayProcess;
  emulator: EmulatorProcess;
  durationSeconds: number;
  log: (line: string) => void;
}): Promise<IngestResult> {
  const { db, gateway, emulator, durationSeconds } = context;
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

  await emulator.setLatency((WARM_UP_SECONDS + durationSeconds + 60) * 1000);
  const url = gateway.url;
  await load({
    url,
    connections: CONNECTIONS,
    durationSeconds: WARM_UP_SECONDS,
    request: requestFor('warm'),
  });
  const result = await load({
    url,
    connections: CONNECTIONS,
    durationSeconds,
    request: requestFor('ingest'),
  });

  const accepted = result.statuses['202'] ?? 0;
  const [row] = await db('notifications')
    .where({ source: BENCH_SOURCE })
    .andWhere('webhook_id', 'like', 'ingest-%')
    .count<Array<{ n: number | string }>>({ n: '*' });
  const stored = Number(row.n);
  if (stored < accepted) throw new Error(`${accepted} webhooks answered 202 but ${stored} stored`);
  const acceptedPerSecond = accepted / result.durationSeconds;
  context.log(
    `  ingest: ${Math.round(acceptedPerSecond)}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, statuses ${JSON.stringify(result.statuses)}`,
  );
  return { ...result, connections: CONNECTIONS, acceptedPerSecond, stored };
}
