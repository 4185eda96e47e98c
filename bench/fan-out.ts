/**
 * Fan-out: the same 20,000 messages through Herald (direct events of 500 tokens; a user
 * audience whose devices are in the database) and through plain firebase-admin `sendEach`,
 * round after round, interleaved, so that a noisy neighbour hurts all three alike.
 */
import { DEFAULT_DISPATCHER_OPTIONS } from '../src/delivery/dispatcher';
import type { Database } from '../src/db/connection';
import { seedDevices } from './bench-database';
import { benchToken, BENCH_BODY, BENCH_TITLE } from './fixtures';
import { postEvents, waitSettled, type BenchEvent } from './herald-client';
import { runChild, type EmulatorProcess, type GatewayProcess } from './processes';
import { median } from './report';

export const FAN_OUT_MESSAGES = 20_000;
const EVENT_TOKENS = 500;
/** The user audience: this many users with this many devices each. */
export const FAN_OUT_USERS = 2_000;
export const FAN_OUT_DEVICES_PER_USER = FAN_OUT_MESSAGES / FAN_OUT_USERS;
/** User ids of the fan-out audience start here (the scale scenario uses its own database). */
const FIRST_USER = 1;

export const FAN_OUT_KINDS = ['peer', 'heraldTokens', 'heraldUsers'] as const;
export type FanOutKind = (typeof FAN_OUT_KINDS)[number];

export interface FanOutRun {
  ms: number;
  messagesPerSecond: number;
  /** CPU time of the sending process (gateway or peer) over the run, per message. */
  cpuUsPerMessage: number;
}

export interface FanOutResult {
  messages: number;
  rounds: number;
  peerBatchesInFlight: number;
  peer: FanOutRun[];
  heraldTokens: FanOutRun[];
  heraldUsers: FanOutRun[];
  median: { peer: number; heraldTokens: number; heraldUsers: number };
  ratio: { heraldTokens: number; heraldUsers: number };
}

export async function seedFanOut(db: Database): Promise<void> {
  await seedDevices(db, {
    firstUser: FIRST_USER,
    users: FAN_OUT_USERS,
    devicesPerUser: FAN_OUT_DEVICES_PER_USER,
    prefix: 'fan',
  });
}

export async function runFanOut(context: {
  db: Database;
  gateway: GatewayProcess;
  emulator: EmulatorProcess;
  rounds: number;
  /** Which of the three to run (default all; fewer only to profile one). */
  kinds?: readonly FanOutKind[];
  cpuProfileDir?: string;
  log: (line: string) => void;
}): Promise<FanOutResult> {
  const { db, gateway, emulator, rounds, log } = context;
  const kinds = context.kinds ?? FAN_OUT_KINDS;
  const peerInFlight = DEFAULT_DISPATCHER_OPTIONS.batchesInFlight;
  const userIds = Array.from({ length: FAN_OUT_USERS }, (_, i) => FIRST_USER + i);

  const heraldTokens = async (round: number, messages: number): Promise<FanOutRun> => {
    const events: BenchEvent[] = [];
    for (let first = 0; first < messages; first += EVENT_TOKENS) {
      const tokens = Array.from({ length: EVENT_TOKENS }, (_, i) =>
        benchToken(first + i, `direct${round}`),
      );
      events.push({
        type: 'notification.send',
        data: { tokens, title: BENCH_TITLE, body: BENCH_BODY },
      });
    }
    return timed(db, gateway, emulator, messages, () => postEvents(gateway.url, events, 8));
  };
  const heraldUsers = async (): Promise<FanOutRun> => {
    const event = {
      type: 'notification.send',
      data: { userIds, title: BENCH_TITLE, body: BENCH_BODY },
    };
    return timed(db, gateway, emulator, FAN_OUT_MESSAGES, () =>
      postEvents(gateway.url, [event], 1),
    );
  };
  const peer = async (): Promise<FanOutRun> => {
    const run = await runChild<{ sent: number; ms: number; cpuMs: number }>(
      'bench/peer-sender.js',
      [emulator.host, String(FAN_OUT_MESSAGES), String(peerInFlight), String(FAN_OUT_MESSAGES / 4)],
      context.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', context.cpuProfileDir] : [],
    );
    if (run.sent !== FAN_OUT_MESSAGES) throw new Error(`peer sent ${run.sent} messages`);
    return {
      ms: run.ms,
      messagesPerSecond: (FAN_OUT_MESSAGES * 1000) / run.ms,
      cpuUsPerMessage: (run.cpuMs * 1000) / FAN_OUT_MESSAGES,
    };
  };

  // Warm the gateway's code paths once, as the peer does inside its own process.
  if (kinds.includes('heraldTokens')) await heraldTokens(0, FAN_OUT_MESSAGES / 4);
  if (kinds.includes('heraldUsers')) await heraldUsers();

  const results = {
    peer: [] as FanOutRun[],
    heraldTokens: [] as FanOutRun[],
    heraldUsers: [] as FanOutRun[],
  };
  for (let round = 1; round <= rounds; round += 1) {
    const order: FanOutKind[] =
      round % 2 === 1
        ? ['peer', 'heraldTokens', 'heraldUsers']
        : ['heraldUsers', 'heraldTokens', 'peer'];
    for (const which of order.filter((kind) => kinds.includes(kind))) {
      const run =
        which === 'peer'
          ? await peer()
          : which === 'heraldTokens'
            ? await heraldTokens(round, FAN_OUT_MESSAGES)
            : await heraldUsers();
      results[which].push(run);
      log(
        `  fan-out round ${round} ${which}: ${Math.round(run.messagesPerSecond)} msg/s, ` +
          `${Math.round(run.cpuUsPerMessage)} µs CPU/msg`,
      );
    }
  }

  const medians = {
    peer: median(results.peer.map((r) => r.messagesPerSecond)),
    heraldTokens: median(results.heraldTokens.map((r) => r.messagesPerSecond)),
    heraldUsers: median(results.heraldUsers.map((r) => r.messagesPerSecond)),
  };
  return {
    messages: FAN_OUT_MESSAGES,
    rounds,
    peerBatchesInFlight: peerInFlight,
    ...results,
    median: medians,
    ratio: {
      heraldTokens: roundRatio(results.heraldTokens, results.peer),
      heraldUsers: roundRatio(results.heraldUsers, results.peer),
    },
  };
}

/**
 * Times from the first webhook posted to the last notification settled, and checks that the
 * emulator accepted every message.
 */
async function timed(
  db: Database,
  gateway: GatewayProcess,
  emulator: EmulatorProcess,
  messages: number,
  post: () => Promise<string[]>,
): Promise<FanOutRun> {
  const acceptedBefore = await emulator.accepted();
  const cpuBefore = gateway.cpuMs();
  const started = process.hrtime.bigint();
  const ids = await post();
  const settled = await waitSettled(db, ids, 120_000);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuMs = gateway.cpuMs() - cpuBefore;
  const accepted = (await emulator.accepted()) - acceptedBefore;
  if (settled.sent !== messages || accepted !== messages) {
    throw new Error(`expected ${messages} sent, Herald counted ${settled.sent}, FCM ${accepted}`);
  }
  return {
    ms,
    messagesPerSecond: (messages * 1000) / ms,
    cpuUsPerMessage: (cpuMs * 1000) / messages,
  };
}

/**
 * The median of each round's ratio. A round runs both senders back to back, so its ratio is
 * taken under the same load on the machine; rates drift by more than that from round to round.
 */
function roundRatio(herald: FanOutRun[], peer: FanOutRun[]): number {
  return median(
    herald.map((run, i) => run.messagesPerSecond / (peer[i]?.messagesPerSecond ?? NaN)),
  );
}
