import { CommandError } from './command';

const TIMEOUT_MS = 10_000;

export interface GatewayResponse {
  status: number;
  text: string;
  /** The parsed body, when it is JSON. */
  json: unknown;
}

/** One request to a running gateway; an unreachable gateway is a `CommandError` saying so. */
export async function callGateway(
  url: URL,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<GatewayResponse> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new CommandError(unreachable(url, err));
  }

  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** `HTTP 401 invalid_signature: why`, from API.md's error shape when the body has it. */
export function failureReason(response: GatewayResponse): string {
  const error = (response.json as { error?: { code?: unknown; message?: unknown } } | undefined)
    ?.error;
  if (typeof error?.code === 'string') {
    return `HTTP ${response.status} ${error.code}: ${String(error.message ?? '')}`.trim();
  }
  return `HTTP ${response.status}`;
}

function unreachable(url: URL, err: unknown): string {
  const name = (err as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `${url.origin} did not answer within ${TIMEOUT_MS / 1000} s`;
  }
  const cause = (err as { cause?: { code?: string } }).cause;
  const code = cause?.code ? ` (${cause.code})` : '';
  return (
    `cannot reach the gateway at ${url.origin}${code}: is it running? ` +
    'Start it with `npm start`, or point HERALD_URL at it'
  );
}
