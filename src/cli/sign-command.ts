import { randomBytes } from 'node:crypto';
import { signatureHeaders, TIMESTAMP_TOLERANCE_SECONDS } from '../auth/webhook-signature';
import {
  CommandError,
  endpoint,
  EXIT_FAILURE,
  gatewayConfig,
  gatewayUrl,
  parseOptions,
  UsageError,
  type Command,
} from './command';
import { callGateway, failureReason } from './gateway-client';

const HELP = `Usage: herald sign --type TYPE --data JSON [--source SOURCE] [options]

Signs an event the way a third-party system must (Standard Webhooks: HMAC-SHA256 over
"id.timestamp.body" with the source's whsec_ secret) and prints a ready curl command for
POST /v1/webhooks/SOURCE. The signature is valid for ${TIMESTAMP_TOLERANCE_SECONDS / 60} minutes.

Options:
  --type TYPE      event type, such as chat.message.created (required)
  --data JSON      the event's data, a JSON object (required)
  --source SOURCE  a source of WEBHOOK_SECRETS (default: the only one configured;
                   "demo" in local mode)
  --id ID          the webhook-id (default: a fresh msg_… id); a retry reuses its id
  --send           post it instead of printing curl, and print the gateway's answer
  -q, --quiet      with --send, print only the notification id
  --url URL        the gateway (default: HERALD_URL, else http://127.0.0.1:$PORT, port 3000)
  -h, --help       this help

Secrets come from WEBHOOK_SECRETS, as for the gateway; with no configuration, local mode's
development secret of the source "demo".

Examples:
  herald sign --source demo --type chat.message.created --data '{"recipientUserId": "alice",
    "senderName": "Bob", "messagePreview": "Hi!", "conversationId": "c-1"}'
  herald sign --type notification.send --send \\
    --data '{"userIds": ["alice"], "title": "Hi", "body": "There"}'
`;

/** Characters a POSIX shell leaves alone outside quotes. */
const SHELL_SAFE = /^[\w@%+=:,./-]+$/;

export const signCommand: Command = {
  name: 'sign',
  summary: 'print a signed webhook as a curl command (--send posts it)',
  help: HELP,
  async run(args, context) {
    const { values } = parseOptions(args, {
      source: { type: 'string' },
      type: { type: 'string' },
      data: { type: 'string' },
      id: { type: 'string' },
      send: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      url: { type: 'string' },
    });
    if (values.help) {
      context.stdout(HELP);
      return 0;
    }
    if (values.type === undefined || values.type.trim() === '') {
      throw new UsageError('--type is required, such as --type chat.message.created');
    }
    if (values.data === undefined) throw new UsageError("--data is required, such as --data '{}'");
    if (values.quiet && !values.send) throw new UsageError('--quiet only goes with --send');
    const data = parseData(values.data);
    if (values.id !== undefined && (values.id === '' || values.id.length > 255)) {
      throw new UsageError('--id must be 1 to 255 characters');
    }

    const config = gatewayConfig(context.env);
    const url = gatewayUrl(values.url, context.env, config);
    const source = chooseSource(values.source, [...config.webhookSecrets.keys()]);
    const [secret] = config.webhookSecrets.get(source) ?? [];
    if (secret === undefined) {
      const known = [...config.webhookSecrets.keys()].join(', ');
      throw new CommandError(`WEBHOOK_SECRETS has no source "${source}" (it has: ${known})`);
    }

    const body = JSON.stringify({ type: values.type, data });
    const webhookId = values.id ?? `msg_${randomBytes(12).toString('hex')}`;
    const headers = {
      'Content-Type': 'application/json',
      ...signatureHeaders(secret, webhookId, body),
    };
    const target = endpoint(url, `v1/webhooks/${encodeURIComponent(source)}`);

    if (!values.send) {
      context.stdout(curlCommand(target, headers, body));
      return 0;
    }

    const response = await callGateway(target, { method: 'POST', headers, body });
    const accepted = response.status === 200 || response.status === 202;
    if (values.quiet) {
      const id = (response.json as { notificationId?: unknown } | undefined)?.notificationId;
      if (!accepted || typeof id !== 'string') throw new CommandError(failureReason(response));
      context.stdout(`${id}\n`);
      return 0;
    }
    context.stderr(`HTTP ${response.status}\n`);
    context.stdout(`${response.text}\n`);
    return accepted ? 0 : EXIT_FAILURE;
  },
};

function parseData(raw: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--data is not JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError('--data must be a JSON object, such as \'{"userIds": ["alice"]}\'');
  }
  return data as Record<string, unknown>;
}

function chooseSource(given: string | undefined, configured: string[]): string {
  if (given !== undefined) return given;
  if (configured.length === 1) return configured[0];
  throw new UsageError(`--source is required: WEBHOOK_SECRETS has ${configured.join(', ')}`);
}

export function shellQuote(value: string): string {
  return SHELL_SAFE.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function curlCommand(url: URL, headers: Record<string, string>, body: string): string {
  const lines = [
    `curl -sS -w '\\n' -X POST ${shellQuote(url.href)}`,
    ...Object.entries(headers).map(([name, value]) => `-H ${shellQuote(`${name}: ${value}`)}`),
    `--data-binary ${shellQuote(body)}`,
  ];
  return lines.join(' \\\n  ') + '\n';
}
