/**
 * The emulator's own HTTP endpoints under `/__emulator/`, for tests and benchmarks that run the
 * gateway (and so its emulator) in another process. They mirror the in-process methods:
 *
 *   GET    /__emulator/health          200 {"ok": true}
 *   GET    /__emulator/messages        200 {"messages": [...]}, oldest first
 *   DELETE /__emulator/messages        204
 *   GET    /__emulator/stats           200 counters
 *   GET    /__emulator/topics          200 {"topics": {"name": ["token", ...]}}
 *   POST   /__emulator/faults/token    {"token" | "tokens", "errorCode", "times"?}
 *   POST   /__emulator/faults/share    {"share", "errorCodes" | "errorCode", "seed"?}
 *   POST   /__emulator/faults/next     {"count", "errorCode"}
 *   DELETE /__emulator/faults          204, every fault cleared
 *   POST   /__emulator/latency         {"ms"} or {"minMs", "maxMs"}
 *   POST   /__emulator/reset           204, back to a fresh start
 *
 * Every fault body also takes "retryAfterSeconds" (sent as `Retry-After` on 429 and 503).
 * Fault and latency endpoints answer 204, or 400 with Google's error shape for a bad body.
 */
import type http from 'node:http';

import type { Latency } from './fcm-emulator';
import { isFcmErrorCode, type FcmErrorCode } from './fcm-errors';
import type { FaultPlan } from './faults';
import { parseJson, readBody, sendJson } from './http-io';
import type { Recorder } from './recorder';

/** Pieces of emulator state the control routes act on. */
export interface EmulatorState {
  faults: FaultPlan;
  recorder: Recorder;
  topics: Map<string, Set<string>>;
  setLatency(latency: Latency): void;
  reset(): void;
}

type Body = Record<string, unknown>;

class ControlError extends Error {}

function noContent(res: http.ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function code(value: unknown, field: string): FcmErrorCode {
  if (!isFcmErrorCode(value)) {
    throw new ControlError(`${field} must be an FCM v1 error code such as "UNAVAILABLE"`);
  }
  return value;
}

function optionalNumber(body: Body, field: string): number | undefined {
  const value = body[field];
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ControlError(`${field} must be a non-negative number`);
  }
  return value;
}

function requiredNumber(body: Body, field: string): number {
  const value = optionalNumber(body, field);
  if (value === undefined) {
    throw new ControlError(`${field} is required`);
  }
  return value;
}

function retryAfter(body: Body): { retryAfterSeconds?: number } {
  const seconds = optionalNumber(body, 'retryAfterSeconds');
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}

function tokenFault(state: EmulatorState, body: Body): void {
  const tokens = body.tokens ?? (body.token === undefined ? undefined : [body.token]);
  if (!Array.isArray(tokens) || tokens.some((token) => typeof token !== 'string')) {
    throw new ControlError('token (a string) or tokens (an array of strings) is required');
  }
  const errorCode = code(body.errorCode, 'errorCode');
  const times = optionalNumber(body, 'times');
  const options = times === undefined ? retryAfter(body) : { ...retryAfter(body), times };
  for (const token of tokens as string[]) {
    state.faults.failToken(token, errorCode, options);
  }
}

function shareFault(state: EmulatorState, body: Body): void {
  const share = requiredNumber(body, 'share');
  if (share > 1) {
    throw new ControlError('share must be between 0 and 1');
  }
  const raw = body.errorCodes ?? (body.errorCode === undefined ? undefined : [body.errorCode]);
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ControlError('errorCodes (a non-empty array) or errorCode is required');
  }
  const codes = raw.map((value, index) => code(value, `errorCodes[${index}]`));
  const seed = optionalNumber(body, 'seed');
  const options = seed === undefined ? retryAfter(body) : { ...retryAfter(body), seed };
  state.faults.failShare(share, codes, options);
}

function latency(state: EmulatorState, body: Body): void {
  const ms = optionalNumber(body, 'ms');
  if (ms !== undefined) {
    state.setLatency(ms);
    return;
  }
  const minMs = requiredNumber(body, 'minMs');
  const maxMs = requiredNumber(body, 'maxMs');
  if (maxMs < minMs) {
    throw new ControlError('maxMs must not be below minMs');
  }
  state.setLatency({ minMs, maxMs });
}

const POST_ROUTES: Record<string, (state: EmulatorState, body: Body) => void> = {
  '/__emulator/faults/token': tokenFault,
  '/__emulator/faults/share': shareFault,
  '/__emulator/faults/next': (state, body) =>
    state.faults.failNext(requiredNumber(body, 'count'), code(body.errorCode, 'errorCode'), {
      ...retryAfter(body),
    }),
  '/__emulator/latency': latency,
  '/__emulator/reset': (state) => state.reset(),
};

function handleRead(state: EmulatorState, path: string, res: http.ServerResponse): boolean {
  switch (path) {
    case '/__emulator/health':
      sendJson(res, 200, { ok: true });
      return true;
    case '/__emulator/messages':
      sendJson(res, 200, { messages: state.recorder.messages() });
      return true;
    case '/__emulator/stats':
      sendJson(res, 200, state.recorder.stats());
      return true;
    case '/__emulator/topics': {
      const topics = Object.fromEntries([...state.topics].map(([name, set]) => [name, [...set]]));
      sendJson(res, 200, { topics });
      return true;
    }
    default:
      return false;
  }
}

function controlError(res: http.ServerResponse, status: number, message: string): void {
  const statusName = status === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
  sendJson(res, status, { error: { code: status, message, status: statusName } });
}

export function handleControl(
  state: EmulatorState,
  method: string,
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  readBody(req, (raw) => {
    if (method === 'GET' && handleRead(state, path, res)) {
      return;
    }
    if (method === 'DELETE' && path === '/__emulator/messages') {
      state.recorder.clearMessages();
      noContent(res);
      return;
    }
    if (method === 'DELETE' && path === '/__emulator/faults') {
      state.faults.clear();
      noContent(res);
      return;
    }

    const route = method === 'POST' ? POST_ROUTES[path] : undefined;
    if (!route) {
      controlError(res, 404, `No emulator control endpoint ${method} ${path}`);
      return;
    }

    let body: unknown = {};
    if (raw === undefined || raw.length > 0) {
      const parsed = raw === undefined ? undefined : parseJson(raw);
      body = parsed?.ok ? parsed.value : undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      controlError(res, 400, 'The body must be a JSON object');
      return;
    }

    try {
      route(state, body as Body);
    } catch (err) {
      if (err instanceof ControlError || err instanceof RangeError) {
        controlError(res, 400, err.message);
        return;
      }
      throw err;
    }
    noContent(res);
  });
}
