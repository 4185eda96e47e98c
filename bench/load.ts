/** A load generator run (autocannon) boiled down to the figures the bench reports. */
import autocannon from 'autocannon';

export interface LoadResult {
  durationSeconds: number;
  /** Answers per status code. */
  statuses: Record<string, number>;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export async function load(options: {
  url: string;
  connections: number;
  durationSeconds: number;
  request: autocannon.Request;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 30,
    requests: [options.request],
  });
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = Number(count);
  }
  return {
    durationSeconds: result.duration,
    statuses,
    non2xx: result.non2xx,
    errors: result.errors,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}
