/**
 * A stand-in for Google's FCM HTTP v1 API, its OAuth token endpoint and the Instance ID topic
 * API, speaking plain HTTP/1.1. It stands alone (nothing from the rest of Herald) so that it can
 * run in-process for tests, as a child process for local mode, or on its own from `cli.ts`.
 *
 * The hot path (`messages:send`) is kept small: one JSON.parse, a handful of checks, one write.
 * Nothing is logged per message unless asked for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { handleControl, type EmulatorState } from './control-routes';
import {
  fcmFailure,
  notFound,
  parseError,
  unauthenticated,
  type FcmErrorCode,
  type FcmFailure,
} from './fcm-errors';
import {
  FaultPlan,
  seededRandom,
  type Fault,
  type FaultOptions,
  type ShareFaultOptions,
  type TokenFaultOptions,
} from './faults';
import { MAX_BODY_BYTES, parseJson, readBody, sendJson, tokenPrefix } from './http-io';
import { Recorder, type EmulatorStats, type ReceivedMessage } from './recorder';
import { validateSendRequest, type MessageTarget } from './validate-message';

/** The subset of a pino logger the emulator uses. */
export interface EmulatorLogger {
  info(obj: object, msg?: string): void;
}

/** Artificial latency before each `messages:send` answer: fixed, or uniform in a range. */
export type Latency = number | { minMs: number; maxMs: number };

export interface EmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Keep accepted messages (default true). `false` keeps only counters, for benchmarks. */
  record?: boolean;
  /** Most messages kept; the oldest go first. Default 10,000. */
  maxRecorded?: number;
  logger?: EmulatorLogger;
  /** Log every accepted message through `logger` (token shortened to a prefix). */
  logMessages?: boolean;
  /** Called for every accepted message, after it is recorded. */
  onMessage?: (message: ReceivedMessage) => void;
  /** Seed of the random source behind share faults and latency ranges. Default 1. */
  seed?: number;
  latency?: Latency;
  /** Refuse FCM and topic calls without `Authorization: Bearer …`, as Google does. Default true. */
  requireAuth?: boolean;
}

export interface FcmEmulator {
  /** `127.0.0.1:PORT`: the value for `FCM_EMULATOR_HOST`. */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Accepted messages, oldest first (a copy). */
  readonly received: ReceivedMessage[];
  stats(): EmulatorStats;
  /** Refuse sends to `token` with `code`, for good or for the next `times` sends. */
  failToken(token: string, code: FcmErrorCode, options?: TokenFaultOptions): void;
  /** Refuse this share (0..1) of all sends, with a code picked among `codes`. */
  failShare(share: number, codes: FcmErrorCode | FcmErrorCode[], options?: ShareFaultOptions): void;
  /** Refuse the next `count` sends with `code`. */
  failNext(count: number, code: FcmErrorCode, options?: FaultOptions): void;
  setLatency(latency: Latency): void;
  clearFaults(): void;
  clearMessages(): void;
  /** Topic name (without `/topics/`) → subscribed tokens. */
  subscriptions(): Record<string, string[]>;
  /** Faults, latency, record, counters and subscriptions back to a fresh start. */
  reset(): void;
  close(): Promise<void>;
}

const SEND_PREFIX = '/v1/projects/';
const SEND_SUFFIX = '/messages:send';
const TOPIC_NAME = /^\/topics\/[a-zA-Z0-9\-_.~%]+$/;
const FAKE_ACCESS_TOKEN = 'emulator-access-token';

function sendFailure(res: http.ServerResponse, failure: FcmFailure, retryAfter?: number): void {
  const status = failure.httpStatus;
  const headers: Record<string, string> =
    retryAfter !== undefined && (status === 429 || status === 503)
      ? { 'retry-after': String(retryAfter) }
      : {};
  sendJson(res, status, failure.body, headers);
}

function targetFields(
  target: MessageTarget,
): Pick<ReceivedMessage, 'token' | 'topic' | 'condition'> {
  switch (target.kind) {
    case 'token':
      return { token: target.token };
    case 'topic':
      return { topic: target.topic };
    case 'condition':
      return { condition: target.condition };
  }
}

function hasBearer(req: http.IncomingMessage): boolean {
  const header = req.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') && header.length > 7;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<FcmEmulator> {
  const seed = options.seed ?? 1;
  const faults = new FaultPlan(seed);
  const latencyRandom = seededRandom(seed);
  const recorder = new Recorder(options.record ?? true, options.maxRecorded ?? 10_000);
  const topics = new Map<string, Set<string>>();
  const requireAuth = options.requireAuth ?? true;
  const logger = options.logger;
  const logMessages = options.logMessages === true && logger !== undefined;
  const onMessage = options.onMessage;
  let latency: Latency = options.latency ?? 0;
  let sequence = 0;
  const idStamp = Date.now();

  function delayMs(): number {
    if (typeof latency === 'number') {
      return latency;
    }
    return latency.minMs + latencyRandom() * (latency.maxMs - latency.minMs);
  }

  // Answers held back by latency; close() drops them, so no timer outlives the emulator.
  const delayed = new Set<NodeJS.Timeout>();

  function answer(reply: () => void): void {
    const ms = delayMs();
    if (ms > 0) {
      const timer = setTimeout(() => {
        delayed.delete(timer);
        reply();
      }, ms);
      delayed.add(timer);
    } else {
      reply();
    }
  }

  function refuse(res: http.ServerResponse, failure: FcmFailure, fault?: Fault): void {
    recorder.countRefused(failure.countedAs);
    answer(() => sendFailure(res, failure, fault?.retryAfterSeconds));
  }

  function handleSend(project: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, (body) => {
      recorder.countRequest();
      if (requireAuth && !hasBearer(req)) {
        refuse(res, unauthenticated());
        return;
      }

      const requestFault = faults.takeRequestFault();
      if (requestFault) {
        refuse(res, fcmFailure(requestFault.code), requestFault);
        return;
      }

      if (body === undefined) {
        refuse(res, parseError(`Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`));
        return;
      }
      const parsed = parseJson(body);
      if (!parsed.ok) {
        refuse(res, parseError('Invalid JSON payload received.'));
        return;
      }
      const validation = validateSendRequest(parsed.value);
      if (!validation.ok) {
        refuse(res, validation.failure);
        return;
      }

      const { target, message, validateOnly } = validation.request;
      const tokenFault = target.kind === 'token' ? faults.takeTokenFault(target.token) : undefined;
      if (tokenFault) {
        refuse(res, fcmFailure(tokenFault.code), tokenFault);
        return;
      }

      if (validateOnly) {
        // Google answers a dry run with this fixed id.
        recorder.countValidateOnly();
        const name = `projects/${project}/messages/fake_message_id`;
        answer(() => sendJson(res, 200, { name }));
        return;
      }

      sequence += 1;
      const id = `0:${idStamp}${String(sequence).padStart(8, '0')}`;
      const name = `projects/${project}/messages/${id}`;
      recorder.countAccepted();
      if (recorder.recording || onMessage || logMessages) {
        const received: ReceivedMessage = {
          id,
          name,
          project,
          ...targetFields(target),
          message,
          receivedAt: Date.now(),
        };
        recorder.keep(received);
        onMessage?.(received);
        if (logMessages) {
          logger.info(
            {
              project,
              target: target.kind,
              tokenPrefix: target.kind === 'token' ? tokenPrefix(target.token) : undefined,
              topic: received.topic,
              condition: received.condition,
            },
            'fcm emulator accepted a message',
          );
        }
      }
      answer(() => sendJson(res, 200, { name }));
    });
  }

  function handleTopicManagement(
    add: boolean,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    readBody(req, (body) => {
      recorder.countTopicManagement();
      if (requireAuth && !hasBearer(req)) {
        sendFailure(res, unauthenticated());
        return;
      }

      const parsed = body === undefined ? undefined : parseJson(body);
      const value = parsed?.ok ? parsed.value : undefined;
      const request = typeof value === 'object' && value !== null ? value : {};
      const to = 'to' in request ? request.to : undefined;
      const tokens = 'registration_tokens' in request ? request.registration_tokens : undefined;
      if (typeof to !== 'string' || !TOPIC_NAME.test(to)) {
        sendJson(res, 400, { error: 'INVALID_ARGUMENT' });
        return;
      }
      if (!Array.isArray(tokens) || tokens.length === 0 || tokens.length > 1000) {
        sendJson(res, 400, { error: 'INVALID_ARGUMENT' });
        return;
      }

      const topic = to.slice('/topics/'.length);
      const subscribers = topics.get(topic) ?? new Set<string>();
      const results = tokens.map((token: unknown) => {
        if (typeof token !== 'string' || token.trim() === '') {
          return { error: 'INVALID_ARGUMENT' };
        }
        const fault = faults.peekTokenFault(token);
        if (fault === 'UNREGISTERED') {
          return { error: 'NOT_FOUND' };
        }
        if (fault === 'INVALID_ARGUMENT') {
          return { error: 'INVALID_ARGUMENT' };
        }
        if (add) {
          subscribers.add(token);
        } else {
          subscribers.delete(token);
        }
        return {};
      });
      if (subscribers.size > 0) {
        topics.set(topic, subscribers);
      } else {
        topics.delete(topic);
      }
      sendJson(res, 200, { results });
    });
  }

  function handleOauthToken(req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, () => {
      recorder.countOauth();
      sendJson(res, 200, {
        access_token: FAKE_ACCESS_TOKEN,
        expires_in: 3599,
        token_type: 'Bearer',
      });
    });
  }

  const state: EmulatorState = {
    faults,
    recorder,
    topics,
    setLatency: (next) => {
      latency = next;
    },
    reset: () => {
      faults.clear();
      recorder.reset();
      topics.clear();
      latency = options.latency ?? 0;
    },
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';

    if (method === 'POST' && path.startsWith(SEND_PREFIX) && path.endsWith(SEND_SUFFIX)) {
      const project = path.slice(SEND_PREFIX.length, path.length - SEND_SUFFIX.length);
      if (project !== '' && !project.includes('/')) {
        handleSend(project, req, res);
        return;
      }
    }
    if (method === 'POST' && (path === '/iid/v1:batchAdd' || path === '/iid/v1:batchRemove')) {
      handleTopicManagement(path.endsWith('batchAdd'), req, res);
      return;
    }
    if (method === 'POST' && path === '/token') {
      handleOauthToken(req, res);
      return;
    }
    if (path.startsWith('/__emulator/')) {
      handleControl(state, method, path, req, res);
      return;
    }
    readBody(req, () => sendFailure(res, notFound(path)));
  });

  // Longer than any client's idle timeout, so the client, not the server, ends idle sockets.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const hostName = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const host = `${hostName}:${address.port}`;
  logger?.info({ host, record: options.record ?? true }, 'fcm emulator listening');

  return {
    host,
    port: address.port,
    url: `http://${host}`,
    get received() {
      return recorder.messages();
    },
    stats: () => recorder.stats(),
    failToken: (token, code, faultOptions) => faults.failToken(token, code, faultOptions),
    failShare: (share, codes, faultOptions) =>
      faults.failShare(share, Array.isArray(codes) ? codes : [codes], faultOptions),
    failNext: (count, code, faultOptions) => faults.failNext(count, code, faultOptions),
    setLatency: state.setLatency,
    clearFaults: () => faults.clear(),
    clearMessages: () => recorder.clearMessages(),
    subscriptions: () =>
      Object.fromEntries([...topics].map(([topic, tokens]) => [topic, [...tokens]])),
    reset: state.reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of delayed) clearTimeout(timer);
        delayed.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
