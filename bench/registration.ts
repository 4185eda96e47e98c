/**
 * Registration: client apps registering FCM tokens with `POST /v1/devices`, each request a new
 * token of one of a thousand users, each user with a JWT of their own.
 */
import jwt from 'jsonwebtoken';
import { benchToken } from './fixtures';
import { BENCH_JWT_SECRET } from './herald-client';
import { load, type LoadResult } from './load';
import type { GatewayProcess } from './processes';

const CONNECTIONS = 32;
const USERS = 1000;
const WARM_UP_SECONDS = 3;

export interface RegistrationResult extends LoadResult {
  connections: number;
  /** Devices registered (201) or refreshed (200) per second. */
  perSecond: number;
}

export async function runRegistration(context: {
  gateway: GatewayProcess;
  durationSeconds: number;
  log: (line: string) => void;
}): Promise<RegistrationResult> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const jwts = Array.from({ length: USERS }, (_, i) =>
    jwt.sign({ sub: `reg-user-${i}`, exp }, BENCH_JWT_SECRET, { algorithm: 'HS256' }),
  );
  let sequence = 0;
  const request = {
    method: 'POST',
    path: '/v1/devices',
    setupRequest: () => {
      sequence += 1;
      return {
        method: 'POST',
        path: '/v1/devices',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${jwts[sequence % USERS]}`,
        },
        body: JSON.stringify({ token: benchToken(sequence, 'reg'), platform: 'android' }),
      };
    },
  };

  await load({
    url: context.gateway.url,
    connections: CONNECTIONS,
    durationSeconds: WARM_UP_SECONDS,
    request,
  });
  const result = await load({
    url: context.gateway.url,
    connections: CONNECTIONS,
    durationSeconds: context.durationSeconds,
    request,
  });
  const ok = (result.statuses['201'] ?? 0) + (result.statuses['200'] ?? 0);
  const perSecond = ok / result.durationSeconds;
  context.log(
    `  registration: ${Math.round(perSecond)}/s, p99 ${result.latencyMs.p99} ms, statuses ${JSON.stringify(result.statuses)}`,
  );
  return { ...result, connections: CONNECTIONS, perSecond };
}
