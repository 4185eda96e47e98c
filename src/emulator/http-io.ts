/** Small helpers for reading requests and writing JSON answers on node:http. */
import type http from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_TYPE = 'application/json; charset=UTF-8';

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.setHeader('content-type', JSON_TYPE);
  res.setHeader('content-length', Buffer.byteLength(text));
  for (const name in headers) {
    res.setHeader(name, headers[name] ?? '');
  }
  res.writeHead(status);
  res.end(text);
}

/** Reads the whole body (so keep-alive connections stay usable), refusing oversized ones. */
export function readBody(
  req: http.IncomingMessage,
  done: (body: Buffer | undefined) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) {
      done(undefined);
      return;
    }
    done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
  req.on('error', () => undefined);
}

/** Enough of a device token to trace it in a log line, too little to use it. */
export function tokenPrefix(token: string): string {
  return `${token.slice(0, 8)}…`;
}

export function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}
