import { setTimeout as sleep } from 'node:timers/promises';
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
import { callGateway, failureReason, type GatewayResponse } from './gateway-client';

const POLL_INTERVAL_MS = 250;
const DEFAULT_WAIT_SECONDS = 30;
const IN_FLIGHT = ['queued', 'sending'];

const HELP = `Usage: herald status NOTIFICATION_ID [--wait] [--url URL]

Prints a notification's delivery status from the admin API (GET /v1/notifications/ID):
queued, sending, delivered, partial, failed or no_targets, with its message counts.

Options:
  --wait           wait until the notification is no longer queued or sending
  --timeout SEC    how long --wait waits (default ${DEFAULT_WAIT_SECONDS})
  --url URL        the gateway (default: HERALD_URL, else http://127.0.0.1:$PORT, port 3000)
  -h, --help       this help

Authenticates with ADMIN_TOKEN, as the gateway reads it: local mode's development token only
when neither WEBHOOK_SECRETS nor a JWT key is set either. Exits 1 when the notification is
unknown or the token is refused.
`;

export const statusCommand: Command = {
  name: 'status',
  summary: "print a notification's delivery status (admin API)",
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseOptions(
      args,
      { wait: { type: 'boolean' }, timeout: { type: 'string' }, url: { type: 'string' } },
      true,
    );
    if (values.help) {
      context.stdout(HELP);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('name the notification: herald status ID');
    if (positionals.length > 1) throw new UsageError('give one notification id');
    const [id] = positionals;
    if (id.trim() === '') throw new UsageError('the notification id is empty');
    const timeout = values.timeout === undefined ? DEFAULT_WAIT_SECONDS : Number(values.timeout);
    if (!/^\d+$/.test(values.timeout ?? '1') || timeout < 1) {
      throw new UsageError('--timeout must be a whole number of seconds, at least 1');
    }
    if (values.timeout !== undefined && !values.wait) {
      throw new UsageError('--timeout only goes with --wait');
    }

    const config = gatewayConfig(context.env);
    if (config.adminToken === undefined) {
      throw new CommandError('ADMIN_TOKEN is not set, so the admin API is disabled');
    }
    const base = gatewayUrl(values.url, context.env, config);
    const url = endpoint(base, `v1/notifications/${encodeURIComponent(id)}`);
    const fetchOnce = () =>
      callGateway(url, {
        method: 'GET',
        headers: { Authorization: `Bearer ${config.adminToken}` },
      });

    let response = await fetchOnce();
    const deadline = Date.now() + timeout * 1000;
    while (values.wait && inFlight(response) && Date.now() < deadline) {
      await sleep(POLL_INTERVAL_MS);
      response = await fetchOnce();
    }

    if (response.status !== 200) throw new CommandError(failureReason(response));
    context.stdout(`${JSON.stringify(response.json, null, 2)}\n`);
    if (values.wait && inFlight(response)) {
      context.stderr(`herald status: still ${statusOf(response)} after ${timeout} s\n`);
      return EXIT_FAILURE;
    }
    return 0;
  },
};

function statusOf(response: GatewayResponse): unknown {
  return (response.json as { status?: unknown } | undefined)?.status;
}

function inFlight(response: GatewayResponse): boolean {
  return response.status === 200 && IN_FLIGHT.includes(String(statusOf(response)));
}
