/**
 * The peer of the ingest figure: the least a durable webhook endpoint can do, with no Herald.
 * A bare Express handler that checks the Standard Webhooks HMAC and stores two rows (an event
 * and its job) with mysql2, several requests committed together, then answers 202:
 *
 *   node dist/bench/bare-ingest.js <port> <mysqlUrl> <whsec_secret>
 *
 * It has no logging, metrics, rate limit, schema, plugin or idempotency answer, so the ratio
 * Herald / bare is what all of those cost. GET /ready answers 200 once its tables exist.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import express from 'express';
import mysql, { type Pool } from 'mysql2/promise';

interface Waiting {
  id: string;
  webhookId: string;
  body: string;
  done(err?: unknown): void;
}

const BATCH = 256;
const FLUSHES = 4;

async function main(): Promise<void> {
  const [portArg, url, secret] = process.argv.slice(2);
  if (!portArg || !url || !secret?.startsWith('whsec_')) {
    throw new Error('usage: bare-ingest.js <port> <mysqlUrl> <whsec_secret>');
  }
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const pool = mysql.createPool({ uri: url, connectionLimit: 10 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bare_events (id CHAR(36) PRIMARY KEY, ' +
      'webhook_id VARCHAR(255) NOT NULL UNIQUE, body MEDIUMTEXT NOT NULL)',
  );
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bare_jobs (id BIGINT AUTO_INCREMENT PRIMARY KEY, ' +
      'event_id CHAR(36) NOT NULL, body MEDIUMTEXT NOT NULL)',
  );

  const store = groupCommit(pool);
  const app = express();
  app.get('/ready', (_req, res) => {
    res.json({ ready: true });
  });
  app.post('/v1/webhooks/:source', express.raw({ type: () => true, limit: 65536 }), (req, res) => {
    const webhookId = req.get('webhook-id') ?? '';
    const expected = createHmac('sha256', key)
      .update(`${webhookId}.${req.get('webhook-timestamp') ?? ''}.`)
      .update(req.body as Buffer)
      .digest();
    const given = Buffer.from((req.get('webhook-signature') ?? '').split(',')[1] ?? '', 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.status(401).end();
      return;
    }
    const id = randomUUID();
    store({ id, webhookId, body: (req.body as Buffer).toString('utf8') }).then(
      () => res.status(202).json({ notificationId: id, status: 'queued' }),
      () => res.status(503).end(),
    );
  });
  app.listen(Number(portArg), '127.0.0.1');
}

/** Requests that arrive while a commit runs share the next one. */
function groupCommit(pool: Pool) {
  const waiting: Waiting[] = [];
  let flushing = 0;
  const flush = async () => {
    flushing += 1;
    while (waiting.length > 0) {
      const batch = waiting.splice(0, BATCH);
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        await connection.query('INSERT INTO bare_events (id, webhook_id, body) VALUES ?', [
          batch.map((w) => [w.id, w.webhookId, w.body]),
        ]);
        await connection.query('INSERT INTO bare_jobs (event_id, body) VALUES ?', [
          batch.map((w) => [w.id, w.body]),
        ]);
        await connection.commit();
        for (const w of batch) w.done();
      } catch (err) {
        await connection.rollback().catch(() => undefined);
        for (const w of batch) w.done(err);
      } finally {
        connection.release();
      }
    }
    flushing -= 1;
  };
  return (item: Omit<Waiting, 'done'>) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ ...item, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (flushing < FLUSHES) void flush();
    });
}

// A plain exit on SIGTERM, so that `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));

main().catch((err: unknown) => {
  process.stderr.write(`bare-ingest: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
