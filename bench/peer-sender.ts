/**
 * The peer of the fan-out figure: plain firebase-admin, no Herald. Run as a child process so it
 * has a CPU and a heap of its own, exactly like the gateway it is compared with:
 *
 *   node dist/bench/peer-sender.js <emulatorHost> <messages> <batchesInFlight>
 *
 * It sends `messages` token messages through the same sender Herald uses (createFcmSender: same
 * agent, same legacy HTTP/1.1 transport), `sendEach` batches of 500 with a few batches in flight,
 * and prints one JSON line: {"messages", "sent", "ms", "cpuMs"}.
 */
import type { Message } from 'firebase-admin/messaging';
import { createFcmSender, MAX_BATCH_SIZE } from '../src/delivery/fcm-sender';
import { benchToken, BENCH_MESSAGE } from './fixtures';

async function main(): Promise<void> {
  const [emulatorHost, countArg, inFlightArg, warmupArg] = process.argv.slice(2);
  const count = Number(countArg);
  const inFlight = Number(inFlightArg);
  const warmup = Number(warmupArg ?? 0);
  if (!emulatorHost || !(count > 0) || !(inFlight > 0)) {
    throw new Error('usage: peer-sender.js <emulatorHost> <messages> <batchesInFlight> [warmup]');
  }
  const sender = createFcmSender({ emulatorHost, projectId: 'demo-herald-bench' });
  if (warmup > 0) await sendAll(sender.messaging.sendEach.bind(sender.messaging), warmup, inFlight);

  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const sent = await sendAll(sender.messaging.sendEach.bind(sender.messaging), count, inFlight);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  await sender.close();
  process.stdout.write(`${JSON.stringify({ messages: count, sent, ms, cpuMs })}\n`);
}

type SendEach = (messages: Message[]) => Promise<{ successCount: number }>;

/** Batches of 500, at most `inFlight` of them awaiting FCM at once; how many FCM accepted. */
async function sendAll(sendEach: SendEach, count: number, inFlight: number): Promise<number> {
  let next = 0;
  let sent = 0;
  const lane = async () => {
    while (next < count) {
      const start = next;
      next = Math.min(count, next + MAX_BATCH_SIZE);
      const batch: Message[] = [];
      for (let i = start; i < next; i += 1) batch.push({ ...BENCH_MESSAGE, token: benchToken(i) });
      const result = await sendEach(batch);
      sent += result.successCount;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return sent;
}

main().catch((err: unknown) => {
  process.stderr.write(`peer-sender: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
