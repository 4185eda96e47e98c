import type { IRoute, Request, Router } from 'express';

/** The label of a request that no route of the app matches (a 404 for any path at all). */
export const UNMATCHED_ROUTE = 'unmatched';

interface Pattern {
  route: IRoute;
  /** The whole path pattern, mount included: `/v1/devices/:id`. */
  pattern: string;
  /** Lower-case literal segments; null where a `:param` matches any one segment. */
  segments: Array<string | null> | undefined;
  /** Lower-case methods; empty when the route takes every method. */
  methods: Set<string>;
}

/**
 * The route patterns of an app, for labels that stay bounded however many ids its paths carry.
 * A request that reached a route is named by that route; one refused before (a 401 from a
 * router's authentication, a 429) by the pattern its method and path would have reached.
 */
export class RoutePatterns {
  private readonly patterns: Pattern[] = [];
  private readonly byRoute = new Map<IRoute, string>();

  constructor(mounts: ReadonlyArray<readonly [mountPath: string, router: Router]>) {
    for (const [mountPath, router] of mounts) {
      for (const layer of router.stack) {
        const route = layer.route;
        if (!route || typeof route.path !== 'string') continue;
        const pattern = joinPath(mountPath, route.path);
        const methods = new Set(route.stack.flatMap((handler) => handler.method ?? []));
        this.patterns.push({ route, pattern, segments: segmentsOf(pattern), methods });
        this.byRoute.set(route, pattern);
      }
    }
  }

  /** The pattern of the route that served (or would have served) `req`, or `unmatched`. */
  labelOf(req: Request): string {
    const served = req.route as IRoute | undefined;
    const known = served && this.byRoute.get(served);
    if (known) return known;

    const method = req.method.toLowerCase();
    const path = pathSegments(req.originalUrl);
    const found = this.patterns.find(
      (p) => p.segments !== undefined && takes(p, method) && matches(p.segments, path),
    );
    return found?.pattern ?? UNMATCHED_ROUTE;
  }
}

function takes(pattern: Pattern, method: string): boolean {
  if (pattern.methods.size === 0 || pattern.methods.has(method)) return true;
  return method === 'head' && pattern.methods.has('get');
}

function joinPath(mountPath: string, routePath: string): string {
  const joined = `${mountPath}${routePath}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/** Segments of a plain pattern; undefined for patterns with wildcards or optional parts. */
function segmentsOf(pattern: string): Array<string | null> | undefined {
  if (/[*?{}()]/.test(pattern)) return undefined;
  return pattern
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? null : s.toLowerCase()));
}

function pathSegments(url: string): string[] {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => s.toLowerCase());
}

function matches(segments: Array<string | null>, path: string[]): boolean {
  if (segments.length !== path.length) return false;
  return segments.every((segment, i) => segment === null || segment === path[i]);
}
