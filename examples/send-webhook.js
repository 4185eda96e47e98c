/**
 * Sends one event to Herald the way a third-party system should: signed per Standard Webhooks
 * with the `standardwebhooks` package, and retried with the same webhook-id until Herald has
 * it, so a retry is never delivered twice.
 *
 *   HERALD_WEBHOOK_SECRET=whsec_… node examples/send-webhook.js ['{"type": …, "data": {…}}']
 *
 * HERALD_URL (default http://127.0.0.1:3000) and HERALD_SOURCE (default demo) say where to.
 * Node 18 or later; outside this repository, `npm install standardwebhooks` first.
 */
'use strict';

const { randomUUID } = require('node:crypto');
const { Webhook } = require('standardwebhooks');

const HERALD_URL = process.env.HERALD_URL || 'http://127.0.0.1:3000';
const SOURCE = process.env.HERALD_SOURCE || 'demo';
const MAX_ATTEMPTS = 5;

const EXAMPLE_EVENT = {
  type: 'chat.message.created',
  data: {
    recipientUserId: 'alice',
    senderName: 'Bob',
    messagePreview: 'Sent from examples/send-webhook.js',
    conversationId: 'c-42',
  },
};

/**
 * Posts `event` and resolves to Herald's answer: 202 (accepted) or 200 (already accepted
 * earlier under this webhook-id), or the 4xx that says what to fix. Network errors, 429 and
 * 5xx are retried with the same id and body.
 */
async function sendEvent(secret, event) {
  const webhook = new Webhook(secret);
  const id = `msg_${randomUUID()}`;
  const body = JSON.stringify(event);

  for (let attempt = 1; ; attempt += 1) {
    // Signed afresh on each try: Herald refuses timestamps more than 5 minutes old.
    const now = new Date();
    const headers = {
      'Content-Type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': webhook.sign(id, now, body),
    };

    let response;
    try {
      response = await fetch(`${HERALD_URL}/v1/webhooks/${SOURCE}`, {
        method: 'POST',
        headers,
        body,
      });
    } catch (err) {
      if (attempt === MAX_ATTEMPTS) throw err;
      await sleep(backoffMs(attempt));
      continue;
    }

    const retryable = response.status === 429 || response.status >= 500;
    if (!retryable || attempt === MAX_ATTEMPTS) {
      return { status: response.status, body: await response.json() };
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    await sleep(retryAfter > 0 ? retryAfter * 1000 : backoffMs(attempt));
  }
}

/** Exponential backoff with full jitter: up to 0.5 s, 1 s, 2 s, … */
function backoffMs(attempt) {
  return Math.random() * 500 * 2 ** (attempt - 1);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const secret = process.env.HERALD_WEBHOOK_SECRET;
  if (!secret) {
    console.error("set HERALD_WEBHOOK_SECRET to the source's whsec_ secret");
    process.exit(2);
  }
  const event = process.argv[2] ? JSON.parse(process.argv[2]) : EXAMPLE_EVENT;

  const { status, body } = await sendEvent(secret, event);
  console.log(status, JSON.stringify(body));
  process.exitCode = status === 200 || status === 202 ? 0 : 1;
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
