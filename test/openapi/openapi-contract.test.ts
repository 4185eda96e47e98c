import { loadOpenApiDocument } from '../../src/http/openapi-router';
import { OpenApiContract, type ObservedResponse } from './openapi-contract';

const contract = new OpenApiContract(loadOpenApiDocument());

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const NOTIFICATION = {
  id: '0190a1b2-0000-7000-8000-000000000001',
  source: 'shop',
  type: 'chat.message.created',
  plugin: 'chat',
  status: 'delivered',
  createdAt: '2024-05-01T12:00:00.000Z',
  updatedAt: '2024-05-01T12:00:01.000Z',
  counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
  lastError: null,
};

function response(overrides: Partial<ObservedResponse> & { body?: unknown }): ObservedResponse {
  const { body, ...rest } = overrides;
  return {
    method: 'GET',
    path: `/v1/notifications/${NOTIFICATION.id}`,
    status: 200,
    headers: JSON_TYPE,
    text: body === undefined ? '' : JSON.stringify(body),
    ...rest,
  };
}

function errorBody(code: string) {
  return { error: { code, message: 'something went wrong' } };
}

describe('openapi.yaml', () => {
  it('is a well-formed OpenAPI 3.1 document whose schemas compile and references resolve', () => {
    const document = loadOpenApiDocument();

    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(contract.documentProblems()).toEqual([]);
  });

  it('would report a schema keyword ajv does not know, such as a misspelt one', () => {
    const document = structuredClone(loadOpenApiDocument()) as {
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    const { additionalProperties, ...device } = document.components.schemas.Device;
    document.components.schemas.Device = { ...device, addtionalProperties: additionalProperties };

    expect(new OpenApiContract(document).documentProblems()).toContainEqual(
      expect.stringMatching(/unknown keyword: "addtionalProperties"/),
    );
  });

  it('documents every path of API.md', () => {
    const operations = contract.operations().map((op) => `${op.method} ${op.path}`);

    expect(operations.sort()).toEqual(
      [
        'POST /v1/webhooks/{source}',
        'POST /v1/devices',
        'GET /v1/devices',
        'DELETE /v1/devices/{id}',
        'GET /v1/notifications/{id}',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
      ].sort(),
    );
  });
});

describe('OpenApiContract', () => {
  it('accepts a response that matches the document', () => {
    expect(contract.check(response({ body: NOTIFICATION }))).toEqual([]);
  });

  it('refuses a body with a field the document does not have', () => {
    const problems = contract.check(response({ body: { ...NOTIFICATION, retries: 3 } }));

    expect(problems).toEqual([expect.stringContaining('additional properties (retries)')]);
  });

  it('refuses a body that lacks a required field or has a wrong type', () => {
    const { lastError: _dropped, ...withoutLastError } = NOTIFICATION;

    expect(contract.check(response({ body: withoutLastError }))).toEqual([
      expect.stringContaining("must have required property 'lastError'"),
    ]);
    expect(
      contract.check(
        response({ body: { ...NOTIFICATION, counts: { ...NOTIFICATION.counts, sent: '1' } } }),
      ),
    ).toEqual([expect.stringContaining('body/counts/sent must be integer')]);
  });

  it('refuses a value outside a documented enum or format', () => {
    expect(contract.check(response({ body: { ...NOTIFICATION, status: 'done' } }))).toEqual([
      expect.stringContaining('body/status must be equal to one of the allowed values'),
    ]);
    expect(contract.check(response({ body: { ...NOTIFICATION, createdAt: 'yesterday' } }))).toEqual(
      [expect.stringContaining('body/createdAt must match format "date-time"')],
    );
  });

  it('refuses a status the operation does not document', () => {
    const problems = contract.check(response({ status: 418, body: errorBody('teapot') }));

    expect(problems).toEqual([expect.stringContaining('status 418 is not documented')]);
  });

  it('refuses an error whose code is not the one documented for its status', () => {
    const problems = contract.check(
      response({
        method: 'POST',
        path: '/v1/webhooks/shop',
        status: 401,
        body: errorBody('unauthorized'),
      }),
    );

    expect(problems).toEqual([
      expect.stringContaining('body/error/code must be equal to constant'),
    ]);
  });

  it('refuses an error body that is not of the error shape', () => {
    const problems = contract.check(
      response({ status: 404, body: { error: 'not_found', message: 'no such notification' } }),
    );

    expect(problems.length).toBeGreaterThan(0);
  });

  it('refuses a content type the document does not list', () => {
    const text = contract.check(
      response({ headers: { 'content-type': 'text/html' }, body: NOTIFICATION }),
    );
    const metrics = contract.check({
      method: 'GET',
      path: '/metrics',
      status: 200,
      headers: { 'content-type': 'application/openmetrics-text; version=1.0.0' },
      text: '# EOF\n',
    });

    expect(text).toEqual([expect.stringContaining('content-type "text/html" is not one of')]);
    expect(metrics).toEqual([expect.stringContaining('is not one of: text/plain; version=0.0.4')]);
  });

  it('refuses a 429 without the Retry-After header the document requires', () => {
    const base = {
      method: 'GET',
      path: '/v1/devices',
      status: 429,
      text: JSON.stringify(errorBody('rate_limited')),
    };

    expect(contract.check({ ...base, headers: { ...JSON_TYPE, 'retry-after': '12' } })).toEqual([]);
    expect(contract.check({ ...base, headers: JSON_TYPE })).toEqual([
      expect.stringContaining('header Retry-After is required but missing'),
    ]);
    expect(contract.check({ ...base, headers: { ...JSON_TYPE, 'retry-after': 'soon' } })).toEqual([
      expect.stringContaining('header Retry-After "soon"'),
    ]);
  });

  it('refuses a body on a response the document says has none', () => {
    const problems = contract.check({
      method: 'DELETE',
      path: '/v1/devices/abc',
      status: 204,
      headers: JSON_TYPE,
      text: '{}',
    });

    expect(problems).toEqual([expect.stringContaining('the document says no body')]);
  });

  it('holds undocumented routes and methods to the NotFound response', () => {
    const notFound = {
      status: 404,
      headers: JSON_TYPE,
      text: JSON.stringify(errorBody('not_found')),
    };

    expect(contract.route('GET', '/v1/devices')?.path).toBe('/v1/devices');
    expect(contract.route('DELETE', '/v1/devices/abc')?.path).toBe('/v1/devices/{id}');
    expect(contract.route('GET', '/v1/webhooks/shop')).toBeUndefined();
    expect(contract.check({ ...notFound, method: 'GET', path: '/nowhere' })).toEqual([]);
    expect(contract.check({ ...notFound, method: 'GET', path: '/nowhere', status: 200 })).toEqual([
      expect.stringContaining('an undocumented route must answer 404'),
    ]);
  });
});
