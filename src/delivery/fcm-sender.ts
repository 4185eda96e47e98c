/**
 * The FCM sender: firebase-admin 13 messaging behind one small interface, against Google or
 * against a local emulator.
 *
 * With an emulator host only the SDK's supported hooks are used:
 * - a `credential` whose `getAccessToken` returns a fixed token, so no OAuth call is made;
 * - an `httpAgent` whose sockets go to the emulator. The SDK builds `https://fcm.googleapis.com`
 *   (and `https://iid.googleapis.com` for topics) URLs and hands them to `https.request` with this
 *   agent. The agent is an `https.Agent` (so the `https:` protocol check passes) whose
 *   `createConnection` returns a plain TCP socket to the emulator instead of a TLS one: the
 *   request is then spoken as plain HTTP/1.1 over that socket, keep-alive and pooling included;
 * - `enableLegacyHttpTransport()`, because the HTTP/2 transport dials by itself and would
 *   ignore the agent.
 *
 * Retries: the SDK's HTTP client retries a 503 (and ECONNRESET / ETIMEDOUT) up to 4 times on
 * its own, waiting 0 s, 1 s, 2 s, 4 s or the answer's `Retry-After` when that is at most 60 s;
 * a longer `Retry-After` makes it give up at once. The SDK offers no option to turn this off,
 * and it is harmless: it covers short blips and honours a short Retry-After. Every other retry
 * decision (429, 500, network errors, a 503 that outlasted the SDK) is the dispatcher's, from
 * the outcome. The SDK's error keeps no header, so after UNAVAILABLE the dispatcher waits at
 * least the SDK's 60 s (the retry policy's unavailableDelayMs) rather than the Retry-After.
 */
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';

import {
  applicationDefault,
  cert,
  deleteApp,
  initializeApp,
  type App,
  type AppOptions,
  type Credential,
} from 'firebase-admin/app';
import {
  getMessaging,
  type Message,
  type Messaging,
  type MessagingTopicManagementResponse,
  type SendResponse,
} from 'firebase-admin/messaging';

import { classifyError, classifySendResponse, type SendOutcome } from './fcm-outcome';

export interface FcmSenderOptions {
  /** The Firebase project; required with an emulator, else taken from the credentials. */
  projectId?: string;
  /** `host:port` of an FCM emulator speaking plain HTTP (`FCM_EMULATOR_HOST`). */
  emulatorHost?: string;
  /** Service-account JSON file; without it, Application Default Credentials. */
  credentialsFile?: string;
  /** Name of the firebase-admin app; unique per sender. Generated when unset. */
  appName?: string;
  /** Most open sockets to the emulator per host (default 256). */
  maxSockets?: number;
}

export interface FcmSender {
  readonly appName: string;
  readonly usesEmulator: boolean;
  /** The SDK's messaging client, for what this interface does not cover. */
  readonly messaging: Messaging;
  /**
   * Sends every message (in `sendEach` batches of at most 500) and returns one outcome per
   * message, in the same order. Never rejects for a failed message; it rejects only on a bug.
   */
  send(messages: readonly Message[]): Promise<SendOutcome[]>;
  sendOne(message: Message): Promise<SendOutcome>;
  subscribeToTopic(tokens: string[], topic: string): Promise<MessagingTopicManagementResponse>;
  unsubscribeFromTopic(tokens: string[], topic: string): Promise<MessagingTopicManagementResponse>;
  /** Deletes the firebase-admin app and closes the sockets to the emulator. */
  close(): Promise<void>;
}

/** FCM's own cap on a `sendEach` batch. */
export const MAX_BATCH_SIZE = 500;

/** Default project for the emulator: the `demo-` prefix marks Firebase projects that are fake. */
export const EMULATOR_PROJECT_ID = 'demo-herald';

const DEFAULT_MAX_SOCKETS = 256;
const EMULATOR_ACCESS_TOKEN = 'herald-emulator-token';

/** An access token that never expires in practice, so the SDK never asks again. */
const fixedCredential: Credential = {
  getAccessToken: () =>
    Promise.resolve({ access_token: EMULATOR_ACCESS_TOKEN, expires_in: 365 * 24 * 3600 }),
};

let appCounter = 0;

function parseHostPort(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`FCM emulator host must be host:port, got "${value}"`);
  }
  return { host: match[1], port };
}

/** Dials the emulator whatever host the SDK asked for; see the file comment for why. */
class EmulatorAgent extends https.Agent {
  constructor(
    private readonly target: { host: string; port: number },
    maxSockets: number,
  ) {
    super({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  override createConnection(): Duplex {
    const socket = net.connect({ host: this.target.host, port: this.target.port });
    socket.setNoDelay(true);
    return socket;
  }
}

function appOptions(options: FcmSenderOptions, agent: EmulatorAgent | undefined): AppOptions {
  if (agent) {
    return {
      credential: fixedCredential,
      projectId: options.projectId ?? EMULATOR_PROJECT_ID,
      httpAgent: agent,
    };
  }

  const credential = options.credentialsFile ? cert(options.credentialsFile) : applicationDefault();
  return options.projectId ? { credential, projectId: options.projectId } : { credential };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    result.push(items.slice(start, start + size));
  }
  return result;
}

interface BatchSessionError {
  pendingBatchResponse?: Promise<{ responses: SendResponse[] }>;
}

async function sendBatch(messaging: Messaging, batch: Message[]): Promise<SendOutcome[]> {
  try {
    const result = await messaging.sendEach(batch);
    return result.responses.map(classifySendResponse);
  } catch (error) {
    // An HTTP/2 session failure rejects the batch but carries the answers it did get.
    const pending = (error as BatchSessionError | null)?.pendingBatchResponse;
    if (pending) {
      const partial = await pending.catch(() => undefined);
      if (partial && partial.responses.length === batch.length) {
        return partial.responses.map(classifySendResponse);
      }
    }
    const outcome = classifyError(error);
    return batch.map(() => outcome);
  }
}

export function createFcmSender(options: FcmSenderOptions = {}): FcmSender {
  appCounter += 1;
  const appName = options.appName ?? `herald-fcm-${process.pid}-${appCounter}`;
  const agent = options.emulatorHost
    ? new EmulatorAgent(
        parseHostPort(options.emulatorHost),
        options.maxSockets ?? DEFAULT_MAX_SOCKETS,
      )
    : undefined;

  const app: App = initializeApp(appOptions(options, agent), appName);
  const messaging = getMessaging(app);
  if (agent) {
    messaging.enableLegacyHttpTransport();
  }

  let closed = false;

  return {
    appName,
    usesEmulator: agent !== undefined,
    messaging,

    async send(messages) {
      if (messages.length === 0) {
        return [];
      }
      const outcomes: SendOutcome[] = [];
      for (const batch of chunks(messages, MAX_BATCH_SIZE)) {
        outcomes.push(...(await sendBatch(messaging, batch)));
      }
      return outcomes;
    },

    async sendOne(message) {
      const [outcome] = await sendBatch(messaging, [message]);
      if (!outcome) {
        throw new Error('sendEach returned no answer for one message');
      }
      return outcome;
    },

    subscribeToTopic: (tokens, topic) => messaging.subscribeToTopic(tokens, topic),
    unsubscribeFromTopic: (tokens, topic) => messaging.unsubscribeFromTopic(tokens, topic),

    async close() {
      if (closed) {
        return;
      }
      closed = true;
      await deleteApp(app);
      agent?.destroy();
    },
  };
}
