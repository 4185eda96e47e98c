/**
 * Checks real HTTP responses against openapi.yaml: that the status is documented for the
 * operation, the content type is one the document lists, the body matches its JSON Schema
 * (OpenAPI 3.1 schemas are JSON Schema 2020-12, checked with ajv) and required headers are
 * there. A request to a path or method the document does not list must get its NotFound
 * response, as the document's description promises.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export interface ObservedResponse {
  method: string;
  /** The request path, without the query string. */
  path: string;
  status: number;
  /** Header names in lower case, as supertest and node give them. */
  headers: Readonly<Record<string, unknown>>;
  /** The raw body text ('' for none). */
  text: string;
}

type Json = Record<string, unknown>;

export interface Operation {
  method: string;
  /** The path template, such as `/v1/devices/{id}`. */
  path: string;
  /** Every status the document lists for it, as strings ('200', '4XX', 'default'). */
  statuses: string[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMAS_ID = 'herald-openapi-schemas';
const COMPONENT_SCHEMA_REF = '#/components/schemas/';

export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ path: string; pattern: RegExp }>;

  constructor(private readonly document: Json) {
    this.ajv = new Ajv2020({
      allErrors: true,
      // Unknown keywords (a typo such as `addtionalProperties`) are errors; the type and
      // required checks of strict mode would refuse the doc's `$ref` + `properties` overlays.
      strict: true,
      strictTypes: false,
      strictRequired: false,
    });
    addFormats(this.ajv);
    const schemas = (this.components().schemas ?? {}) as Json;
    this.ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(schemas) });

    // Literal paths win over templated ones, so `/v1/devices` never reads as `{id}`.
    this.templates = Object.keys(this.paths())
      .map((path) => ({ path, pattern: templatePattern(path) }))
      .sort((a, b) => Number(a.path.includes('{')) - Number(b.path.includes('{')));
  }

  /** Every operation of the document with its documented statuses. */
  operations(): Operation[] {
    const operations: Operation[] = [];
    for (const [path, item] of Object.entries(this.paths())) {
      for (const method of METHODS) {
        const operation = (item as Json)[method] as Json | undefined;
        if (!operation) continue;
        operations.push({
          method: method.toUpperCase(),
          path,
          statuses: Object.keys((operation.responses ?? {}) as Json),
        });
      }
    }
    return operations;
  }

  /** The documented operation a request lands on, or undefined (the NotFound fallback). */
  route(method: string, path: string): Operation | undefined {
    const match = this.templates.find((template) => template.pattern.test(path));
    if (!match) return undefined;
    return this.operations().find(
      (operation) => operation.path === match.path && operation.method === method.toUpperCase(),
    );
  }

  /** What is wrong with `response` according to the document; empty when it conforms. */
  check(response: ObservedResponse): string[] {
    const where = `${response.method.toUpperCase()} ${response.path} → ${response.status}`;
    const operation = this.route(response.method, response.path);
    let documented: Json | undefined;
    let name: string;
    if (operation) {
      const responses = this.operationObject(operation).responses as Json;
      const key = [String(response.status), `${String(response.status)[0]}XX`, 'default'].find(
        (candidate) => responses[candidate] !== undefined,
      );
      if (key === undefined) {
        return [`${where}: status ${response.status} is not documented for this operation`];
      }
      name = `${operation.method} ${operation.path} ${key}`;
      documented = this.resolve(responses[key] as Json);
    } else {
      if (response.status !== 404) {
        return [`${where}: an undocumented route must answer 404, not ${response.status}`];
      }
      name = 'fallback 404';
      documented = this.resolve({ $ref: '#/components/responses/NotFound' });
    }

    const problems = [
      ...this.checkHeaders(documented, response),
      ...this.checkContent(name, documented, response),
    ];
    return problems.map((problem) => `${where}: ${problem}`);
  }

  private checkHeaders(documented: Json, response: ObservedResponse): string[] {
    const problems: string[] = [];
    for (const [header, raw] of Object.entries((documented.headers ?? {}) as Json)) {
      const spec = this.resolve(raw as Json);
      const value = response.headers[header.toLowerCase()];
      if (value === undefined) {
        if (spec.required === true) problems.push(`header ${header} is required but missing`);
        continue;
      }
      const schema = (spec.schema ?? {}) as Json;
      const numeric = schema.type === 'integer' || schema.type === 'number';
      const text = String(value);
      const candidate = numeric && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
      const validate = this.validator(`header ${header} ${JSON.stringify(schema)}`, schema);
      if (!validate(candidate)) {
        problems.push(`header ${header} "${text}" ${this.ajv.errorsText(validate.errors)}`);
      }
    }
    return problems;
  }

  private checkContent(name: string, documented: Json, response: ObservedResponse): string[] {
    const content = documented.content as Json | undefined;
    if (content === undefined) {
      return response.text === '' ? [] : ['the document says no body, but one was sent'];
    }

    const header = response.headers['content-type'];
    if (header === undefined) return ['no content-type, but the document describes a body'];
    const mediaType = Object.keys(content).find((key) => mediaTypeMatches(key, String(header)));
    if (mediaType === undefined) {
      return [`content-type "${String(header)}" is not one of: ${Object.keys(content).join(', ')}`];
    }

    const schema = ((content[mediaType] as Json).schema ?? {}) as Json;
    let body: unknown = response.text;
    if (/[/+]json$/.test(essence(mediaType))) {
      try {
        body = JSON.parse(response.text);
      } catch {
        return ['the body is not JSON'];
      }
    }
    const validate = this.validator(`${name} ${mediaType}`, schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) =>
        `body${error.instancePath} ${error.message ?? 'is invalid'}` +
        (error.keyword === 'additionalProperties'
          ? ` (${String((error.params as { additionalProperty?: string }).additionalProperty)})`
          : ''),
    );
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(schema) as Json);
      this.validators.set(key, validate);
    }
    return validate;
  }

  /** Follows a local `$ref` (a response, a header) to the object it names. */
  private resolve(object: Json): Json {
    const ref = object.$ref;
    if (typeof ref !== 'string') return object;
    if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
    let target: unknown = this.document;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      target = (target as Json | undefined)?.[key];
    }
    if (target === undefined || target === null) throw new Error(`unresolved reference ${ref}`);
    return this.resolve(target as Json);
  }

  private operationObject(operation: Operation): Json {
    return (this.paths()[operation.path] as Json)[operation.method.toLowerCase()] as Json;
  }

  private paths(): Json {
    return (this.document.paths ?? {}) as Json;
  }

  private components(): Json {
    return (this.document.components ?? {}) as Json;
  }

  /**
   * Problems of the document itself: operations without an id or responses, references that
   * name nothing, schemas ajv cannot compile.
   */
  documentProblems(): string[] {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const operation of this.operations()) {
      const where = `${operation.method} ${operation.path}`;
      const object = this.operationObject(operation);
      const id = object.operationId;
      if (typeof id !== 'string') problems.push(`${where} has no operationId`);
      else if (ids.has(id)) problems.push(`${where}: operationId ${id} is used twice`);
      else ids.add(id);
      if (operation.statuses.length === 0) problems.push(`${where} documents no response`);

      for (const status of operation.statuses) {
        try {
          const response = this.resolve((object.responses as Json)[status] as Json);
          for (const [mediaType, media] of Object.entries((response.content ?? {}) as Json)) {
            this.validator(
              `${where} ${status} ${mediaType}`,
              ((media as Json).schema ?? {}) as Json,
            );
          }
          for (const header of Object.values((response.headers ?? {}) as Json)) {
            this.resolve(header as Json);
          }
        } catch (err) {
          problems.push(`${where} ${status}: ${(err as Error).message}`);
        }
      }
    }
    for (const ref of collectRefs(this.document)) {
      try {
        this.resolve({ $ref: ref });
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return problems;
  }
}

/** `#/components/schemas/X` → the same schema in the ajv resource that holds them all. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Json = {};
  for (const [key, entry] of Object.entries(value)) {
    copy[key] =
      key === '$ref' && typeof entry === 'string' && entry.startsWith(COMPONENT_SCHEMA_REF)
        ? `${SCHEMAS_ID}#/$defs/${entry.slice(COMPONENT_SCHEMA_REF.length)}`
        : rewriteRefs(entry);
  }
  return copy;
}

function collectRefs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((entry) => collectRefs(entry, found));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, entry] of Object.entries(value)) {
      if (key === '$ref' && typeof entry === 'string') found.push(entry);
      else collectRefs(entry, found);
    }
  }
  return found;
}

function templatePattern(path: string): RegExp {
  const escaped = path
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${escaped}$`);
}

function essence(mediaType: string): string {
  return mediaType.split(';')[0].trim().toLowerCase();
}

function parameters(mediaType: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of mediaType.split(';').slice(1)) {
    const [name, value = ''] = part.split('=');
    found.set(name.trim().toLowerCase(), value.trim().replace(/^"|"$/g, ''));
  }
  return found;
}

/** Same type and subtype, and every parameter the document names has the documented value. */
function mediaTypeMatches(documented: string, actual: string): boolean {
  if (essence(documented) !== essence(actual)) return false;
  const given = parameters(actual);
  for (const [name, value] of parameters(documented)) {
    if (given.get(name) !== value) return false;
  }
  return true;
}
