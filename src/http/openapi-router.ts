import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Router } from 'express';
import { parse } from 'yaml';

export const OPENAPI_FILE = 'openapi.yaml';

/**
 * src/http/ under ts-jest, dist/src/http/ when compiled: the project root is two or three levels
 * up. The search stops there so that it never picks up an unrelated file further out.
 */
const MAX_LEVELS_UP = 3;

let cached: Readonly<Record<string, unknown>> | undefined;

/** The path of openapi.yaml at the project root. */
export function openApiPath(from = __dirname): string {
  let dir = from;
  for (let level = 0; level <= MAX_LEVELS_UP; level += 1) {
    const candidate = join(dir, OPENAPI_FILE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`${OPENAPI_FILE} not found in the project root above ${from}`);
}

/** openapi.yaml, parsed once per process: it ships with the code and does not change. */
export function loadOpenApiDocument(): Readonly<Record<string, unknown>> {
  if (cached === undefined) {
    const document: unknown = parse(readFileSync(openApiPath(), 'utf8'));
    if (typeof document !== 'object' || document === null || !('openapi' in document)) {
      throw new Error(`${OPENAPI_FILE} is not an OpenAPI document`);
    }
    cached = Object.freeze(document as Record<string, unknown>);
  }
  return cached;
}

/** `GET /openapi.json`: the HTTP surface as an OpenAPI 3.1 document. */
export function createOpenApiRouter(): Router {
  const body = JSON.stringify(loadOpenApiDocument());
  const router = Router();

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });

  return router;
}
