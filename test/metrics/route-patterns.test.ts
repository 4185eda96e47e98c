import express, { Router, type Request } from 'express';
import request from 'supertest';
import { RoutePatterns } from '../../src/http/route-patterns';

/** An app that answers every request with the label its route gets, in `x-route`. */
function labelling() {
  const items = Router();
  items.use((req, res, next) => {
    if (req.get('authorization') === undefined) {
      res
        .status(401)
        .set('x-route', patterns.labelOf(req as Request))
        .end();
      return;
    }
    next();
  });
  items.get('/', (req, res) => void res.set('x-route', patterns.labelOf(req)).end());
  items.delete('/:id', (req, res) => void res.set('x-route', patterns.labelOf(req)).end());
  items.get('/:id/parts/:part', (req, res) => void res.set('x-route', patterns.labelOf(req)).end());
  const root = Router();
  root.get('/healthz', (req, res) => void res.set('x-route', patterns.labelOf(req)).end());

  const mounts = [
    ['', root],
    ['/v1/items', items],
  ] as const;
  const patterns = new RoutePatterns(mounts);
  const app = express();
  for (const [path, router] of mounts) app.use(path || '/', router);
  app.use((req, res) => void res.status(404).set('x-route', patterns.labelOf(req)).end());
  return app;
}

describe('RoutePatterns', () => {
  const app = labelling();
  const label = async (test: request.Test) => String((await test).headers['x-route']);

  it('names a request by the pattern of the route that served it, mount included', async () => {
    expect(await label(request(app).get('/v1/items').set('authorization', 'x'))).toBe('/v1/items');
    expect(await label(request(app).delete('/v1/items/42').set('authorization', 'x'))).toBe(
      '/v1/items/:id',
    );
    expect(await label(request(app).get('/v1/items/7/parts/9?x=1').set('authorization', 'x'))).toBe(
      '/v1/items/:id/parts/:part',
    );
    expect(await label(request(app).get('/healthz'))).toBe('/healthz');
  });

  it('names a request refused before its route by the route it would have reached', async () => {
    expect(await label(request(app).delete('/v1/items/42'))).toBe('/v1/items/:id');
    expect(await label(request(app).get('/V1/Items/'))).toBe('/v1/items');
    expect(await label(request(app).head('/v1/items/1/parts/2'))).toBe('/v1/items/:id/parts/:part');
  });

  it('names everything else unmatched: unknown paths, and known paths with other methods', async () => {
    expect(await label(request(app).get('/v1/items/1/2/3').set('authorization', 'x'))).toBe(
      'unmatched',
    );
    expect(await label(request(app).put('/v1/items/1'))).toBe('unmatched');
    expect(await label(request(app).get('/nope'))).toBe('unmatched');
  });
});
