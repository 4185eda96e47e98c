/**
 * `npm run bench`: every figure of the benchmark suite, measured in one run against the bundled
 * FCM emulator on MariaDB, printed as a table and written to bench/results.json.
 *
 * Environment (all optional):
 *   BENCH_MYSQL_URL   MariaDB/MySQL server (default TEST_MYSQL_URL, else mysql://root@127.0.0.1:3306/)
 *   BENCH_ONLY        comma-separated scenarios: fan-out, registration, ingest, scale
 *   BENCH_ROUNDS      fan-out and ingest rounds (default 3)
 *   BENCH_FAN_OUT     which fan-out senders: peer, heraldTokens, heraldUsers (default all)
 *   BENCH_SCALE_DEVICES  devices of the scale audience (default 1,000,000)
 *   BENCH_DURATION    seconds of each autocannon run (default 10)
 *   BENCH_CPU_PROF    a directory: the gateways (and the bare ingest handler) run under
 *                     `node --cpu-prof` and write their profiles there
 *   BENCH_RESULTS     where to write the JSON (default bench/results.json; "-" for nowhere)
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase, type BenchDatabase } from './bench-database';
import {
  FAN_OUT_KINDS,
  runFanOut,
  seedFanOut,
  type FanOutKind,
  type FanOutResult,
} from './fan-out';
import { gatewayEnv } from './herald-client';
import { runIngest, type IngestResult } from './ingest';
import { startEmulatorProcess, startGateway, type EmulatorProcess } from './processes';
import { runRegistration, type RegistrationResult } from './registration';
import { formatMiB, formatMs, formatRate, table, type Row } from './report';
import { runScale, type ScaleResult } from './scale';

const SCENARIOS = ['fan-out', 'registration', 'ingest', 'scale'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Results {
  ranAt: string;
  machine: Record<string, unknown>;
  totalSeconds: number;
  fanOut?: FanOutResult;
  registration?: RegistrationResult;
  ingest?: IngestResult;
  scale?: ScaleResult;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const only = (process.env.BENCH_ONLY ?? SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is Scenario => (SCENARIOS as readonly string[]).includes(s));
  const rounds = positive('BENCH_ROUNDS', 3);
  const durationSeconds = positive('BENCH_DURATION', 10);
  const scaleDevices = positive('BENCH_SCALE_DEVICES', 1_000_000);
  const cpuProfileDir = process.env.BENCH_CPU_PROF;

  const results: Results = { ranAt: new Date().toISOString(), machine: machine(), totalSeconds: 0 };
  const emulator = await startEmulatorProcess();
  const cleanups: Array<() => Promise<void>> = [() => emulator.stop()];
  try {
    if (only.some((s) => s !== 'scale')) {
      await sharedGatewayScenarios(
        emulator,
        only,
        { rounds, durationSeconds, cpuProfileDir },
        results,
        cleanups,
      );
    }
    if (only.includes('scale')) {
      log(`scale: seeding ${scaleDevices.toLocaleString('en-US')} devices`);
      const database = await createBenchDatabase();
      cleanups.unshift(() => database.drop());
      results.scale = await runScale({
        database,
        emulator,
        devices: scaleDevices,
        cpuProfileDir,
        log,
      });
    }
  } finally {
    for (const cleanup of cleanups)
      await cleanup().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }

  results.totalSeconds = Math.round((Date.now() - started) / 1000);
  const output = process.env.BENCH_RESULTS ?? join(__dirname, '..', '..', 'bench', 'results.json');
  if (output !== '-') writeFileSync(output, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${table(rows(results))}\n\n`);
  process.stdout.write(
    `${String(results.machine.cpus)} × ${String(results.machine.cpuModel)}, ` +
      `${String(results.machine.memoryGiB)} GiB, Node ${process.version}, ` +
      `${String(results.machine.database)}; ${results.totalSeconds} s in all` +
      (output === '-' ? '' : `; written to ${output}`) +
      '\n',
  );
}

/** Fan-out, registration and ingest share one gateway and database; ingest goes last. */
async function sharedGatewayScenarios(
  emulator: EmulatorProcess,
  only: Scenario[],
  options: { rounds: number; durationSeconds: number; cpuProfileDir?: string },
  results: Results,
  cleanups: Array<() => Promise<void>>,
): Promise<void> {
  const database: BenchDatabase = await createBenchDatabase();
  cleanups.unshift(() => database.drop());
  results.machine.database = await databaseVersion(database);
  log(`database ${database.name}; seeding the fan-out audience`);
  await seedFanOut(database.db);

  const gateway = await startGateway(gatewayEnv(database.url, emulator.host), {
    cpuProfileDir: options.cpuProfileDir,
  });
  cleanups.unshift(() => gateway.stop());
  if (only.includes('fan-out')) {
    log('fan-out');
    results.fanOut = await runFanOut({
      db: database.db,
      gateway,
      emulator,
      rounds: options.rounds,
      kinds: fanOutKinds(),
      cpuProfileDir: options.cpuProfileDir,
      log,
    });
  }
  if (only.includes('registration')) {
    log('registration');
    results.registration = await runRegistration({
      gateway,
      durationSeconds: options.durationSeconds,
      log,
    });
  }
  if (only.includes('ingest')) {
    log('ingest');
    results.ingest = await runIngest({
      db: database.db,
      databaseUrl: database.url,
      gateway,
      emulator,
      durationSeconds: options.durationSeconds,
      rounds: options.rounds,
      cpuProfileDir: options.cpuProfileDir,
      log,
    });
  }
  await gateway.stop();
  await emulator.setLatency(0);
}

function rows(results: Results): Row[] {
  const out: Row[] = [];
  const { fanOut, ingest, registration, scale } = results;
  if (fanOut) {
    // A sender left out with BENCH_FAN_OUT has no figure: its rows are left out too.
    const measured = (x: number) => Number.isFinite(x);
    if (measured(fanOut.median.peer)) {
      out.push({
        figure: `fan-out ${fanOut.messages / 1000}k, plain firebase-admin sendEach`,
        value: formatRate(fanOut.median.peer, 'msg'),
        goal: 'peer',
      });
    }
    const herald = [
      ['heraldTokens', 'fan-out, Herald, direct events of 500 tokens'],
      ['heraldUsers', 'fan-out, Herald, user audience from the database'],
    ] as const;
    for (const [kind, figure] of herald) {
      if (!measured(fanOut.median[kind])) continue;
      out.push({ figure, value: formatRate(fanOut.median[kind], 'msg'), goal: '' });
      if (!measured(fanOut.ratio[kind])) continue;
      out.push({
        figure: '  ratio Herald / firebase-admin',
        value: `${fanOut.ratio[kind].toFixed(2)} ×`,
        goal: '≥ 0.8 (aim 0.9)',
        met: fanOut.ratio[kind] >= 0.8,
      });
    }
  }
  if (ingest) {
    out.push(
      {
        figure: 'ingest, bare handler: HMAC + two rows, group commit',
        value: formatRate(ingest.bareMedian.acceptedPerSecond, 'req'),
        goal: 'peer',
      },
      {
        figure: 'ingest, Herald, signed webhooks, durable 202s',
        value: formatRate(ingest.acceptedPerSecond, 'req'),
        goal: '≥ 4,000/s',
        met: ingest.acceptedPerSecond >= 4000,
      },
      { figure: '  ratio Herald / bare handler', value: `${ingest.ratio.toFixed(2)} ×`, goal: '' },
      {
        figure: '  CPU per request, Herald / bare handler',
        value:
          [ingest, ingest.bareMedian].map((r) => Math.round(r.cpuUsPerRequest)).join(' / ') + ' µs',
        goal: '',
      },
      { figure: '  latency p50', value: formatMs(ingest.latencyMs.p50), goal: '' },
      {
        figure: '  latency p99',
        value: formatMs(ingest.latencyMs.p99),
        goal: '≤ 30 ms',
        met: ingest.latencyMs.p99 <= 30,
      },
      {
        figure: '  non-2xx answers, all rounds',
        value: String(nonOk(ingest.herald)),
        goal: '0',
        met: nonOk(ingest.herald) === 0,
      },
    );
  }
  if (registration) {
    out.push(
      {
        figure: 'registration, JWT POST /v1/devices',
        value: formatRate(registration.perSecond, 'req'),
        goal: '≥ 2,000/s',
        met: registration.perSecond >= 2000,
      },
      { figure: '  latency p99', value: formatMs(registration.latencyMs.p99), goal: '' },
      {
        figure: '  non-2xx answers',
        value: String(registration.non2xx + registration.errors),
        goal: '0',
        met: registration.non2xx + registration.errors === 0,
      },
    );
  }
  if (scale) {
    out.push(
      {
        figure: `scale, user audience of ${scale.devices.toLocaleString('en-US')} devices`,
        value: formatRate(scale.messagesPerSecond, 'msg'),
        goal: '',
      },
      { figure: '  end to end', value: `${(scale.ms / 1000).toFixed(1)} s`, goal: '' },
      {
        figure: '  gateway peak RSS',
        value: formatMiB(scale.peakRssBytes),
        goal: '≤ 256 MiB',
        met: scale.peakRssBytes <= 256 * 1024 * 1024,
      },
    );
  }
  return out;
}

function nonOk(runs: ReadonlyArray<{ non2xx: number; errors: number }>): number {
  return runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
}

function fanOutKinds(): FanOutKind[] | undefined {
  const raw = process.env.BENCH_FAN_OUT;
  if (!raw) return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is FanOutKind => (FAN_OUT_KINDS as readonly string[]).includes(s));
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

async function databaseVersion(database: BenchDatabase): Promise<string> {
  const [rows] = (await database.db.raw('SELECT VERSION() AS v')) as [Array<{ v: string }>];
  return rows[0]?.v ?? 'unknown';
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
