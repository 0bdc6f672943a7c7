/**
 * The API fuzzer, driven by the server's own `/openapi.json`: every operation gets bodies of the
 * wrong type, with fields missing, extra and of every wrong type, huge and deeply nested bodies,
 * bodies in odd encodings and content types, odd query strings and path parameters. Every answer
 * must be below 500 and hold no stack trace, file path or key. Seeded: the same seed sends the
 * same requests, and a finding names the seed and the request.
 */
import { gzipSync } from 'node:zlib';
import { prng, type Rand } from './model-mutations';

export interface ApiFuzzOptions {
  url: string;
  key: string;
  seed: number;
  /** Seeded rounds of random requests per operation, after the fixed set (1 in CI). */
  rounds: number;
}

export interface ApiFuzzReport {
  operations: number;
  requests: number;
  statuses: Record<string, number>;
  findings: string[];
}

interface Operation {
  method: string;
  path: string;
  body: 'json' | 'binary' | 'multipart' | 'none';
}

interface Probe {
  what: string;
  contentType?: string;
  encoding?: string;
  body?: string | Uint8Array;
  query?: string;
  params?: (name: string) => string;
}

/** Field names the API's bodies use: a wrong value for a field the route reads reaches its checks. */
const FIELDS = [
  'model',
  'name',
  'inputs',
  'input',
  'messages',
  'prompt',
  'text',
  'dataset',
  'family',
  'task',
  'hyperparameters',
  'max_tokens',
  'temperature',
  'top_p',
  'n',
  'stream',
  'stop',
  'seed',
  'size',
  'voice',
  'format',
  'rows',
  'features',
  'scope',
  'tenant',
  'tenant_id',
  'quota',
  'limits',
  'description',
  'public',
  'version',
  'target',
  'training_file',
  'suffix',
  'labels',
  'data',
  'shape',
  'datatype',
  'outputs',
  'parameters',
  'id',
  'response_format',
  'logprobs',
  'tools',
  'image',
] as const;

const HOSTILE_VALUES: readonly unknown[] = [
  null,
  true,
  -1,
  0,
  1e308,
  -1e308,
  2 ** 53 + 1,
  'x',
  '',
  '\u0000',
  '../../etc/passwd',
  '\ud800',
  [],
  [null],
  {},
  { $ref: '#' },
  { __proto__: { admin: true } },
  'a'.repeat(70_000),
  Array.from({ length: 5000 }, (_, i) => i),
  [[[[[[[[[[1]]]]]]]]]],
];

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

/** The same probes for every operation. */
function fixedProbes(op: Operation): Probe[] {
  const json = 'application/json';
  const probes: Probe[] = [
    { what: 'no body, no type' },
    { what: 'odd query', query: '?limit=-1&limit=abc&after=%ff&stream=maybe&version=..%2f&x[]=1' },
    { what: 'long path parameters', params: () => 'a'.repeat(600) },
    { what: 'traversal path parameters', params: () => '..%2f..%2fetc%2fpasswd' },
    { what: 'NUL and unicode path parameters', params: () => '%00%E2%80%AE%F0%9F%92%A9' },
  ];
  if (op.method === 'GET' || op.method === 'DELETE') return probes;
  return [
    ...probes,
    { what: 'JSON null', contentType: json, body: 'null' },
    { what: 'JSON array', contentType: json, body: '[1,2,3]' },
    { what: 'JSON string', contentType: json, body: '"x"' },
    { what: 'JSON number', contentType: json, body: '1e999' },
    { what: 'empty object', contentType: json, body: '{}' },
    { what: 'malformed JSON', contentType: json, body: '{"a":' },
    {
      what: 'prototype keys',
      contentType: json,
      body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
    },
    { what: 'arrays nested 100,000 deep', contentType: json, body: deep(100_000) },
    { what: 'objects nested 20,000 deep', contentType: json, body: deepObject(20_000) },
    {
      what: 'a 3 MiB string field',
      contentType: json,
      body: JSON.stringify({ model: 'x', prompt: 'a'.repeat(3 << 20) }),
    },
    {
      what: 'invalid UTF-8',
      contentType: json,
      body: Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    },
    { what: 'a byte-order mark', contentType: json, body: '\ufeff{}' },
    { what: 'UTF-16 charset', contentType: 'application/json; charset=utf-16', body: '{}' },
    { what: 'gzip that is not gzip', contentType: json, encoding: 'gzip', body: '{}' },
    { what: 'real gzip', contentType: json, encoding: 'gzip', body: gzipSync('{"model":"x"}') },
    { what: 'an unknown encoding', contentType: json, encoding: 'br, zstd, x-evil', body: '{}' },
    { what: 'text/plain', contentType: 'text/plain', body: 'hello' },
    {
      what: 'XML',
      contentType: 'application/xml',
      body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    },
    { what: 'a form', contentType: 'application/x-www-form-urlencoded', body: 'a=1&b[]=2' },
    { what: 'multipart without a boundary', contentType: 'multipart/form-data', body: '--x\r\n' },
    {
      what: 'multipart, broken',
      contentType: 'multipart/form-data; boundary=b',
      body: '--b\r\nContent-Disposition: form-data; name="file"; filename="../../x"\r\n\r\nabc',
    },
    { what: 'a junk type', contentType: ';;;=/', body: '{}' },
    {
      what: 'random bytes as octet-stream',
      contentType: 'application/octet-stream',
      body: Uint8Array.from({ length: 257 }, (_, i) => (i * 37) & 255),
    },
  ];
}

/** Seeded probes: bodies with known fields set to wrong values, some dropped, some extra. */
function randomProbe(r: Rand): Probe {
  const body: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    body[FIELDS[Math.floor(r() * FIELDS.length)]] = HOSTILE_VALUES[Math.floor(r() * HOSTILE_VALUES.length)];
  }
  if (r() < 0.5)
    body[`extra_${Math.floor(r() * 100)}`] = HOSTILE_VALUES[Math.floor(r() * HOSTILE_VALUES.length)];
  return {
    what: `fields ${JSON.stringify(Object.keys(body))}`,
    contentType: 'application/json',
    body: JSON.stringify(body),
  };
}

/** Path parameters that name things that exist, so the handler runs past its lookups. */
const realParams: Record<string, string> = {
  name: 'fz-model',
  model: 'fz-model',
  version: '1',
  alias: 'latest',
};

const LEAKS: readonly [string, RegExp][] = [
  ['a stack trace', /\bat [\w.<>]+ \(|\bat .+:\d+:\d+/],
  ['a file path', /\/(?:tmp|home|usr|work|root|var|etc)\/[\w.-]|node_modules|[\w-]+\.(?:ts|js|mjs):\d+/],
];

const DOC_PAGES = /^\/(?:$|docs|openapi\.json)/;

export async function runApiFuzz(o: ApiFuzzOptions): Promise<ApiFuzzReport> {
  const doc = (await (await fetch(`${o.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
  };
  const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, spec]) => {
      const types = Object.keys(spec.requestBody?.content ?? {});
      const body = types.includes('application/json')
        ? 'json'
        : types.includes('multipart/form-data')
          ? 'multipart'
          : types.length > 0
            ? 'binary'
            : 'none';
      return { method: method.toUpperCase(), path, body } as Operation;
    }),
  );
  const report: ApiFuzzReport = { operations: operations.length, requests: 0, statuses: {}, findings: [] };
  const r = prng(o.seed);
  for (const op of operations) {
    const probes = [...fixedProbes(op)];
    if (op.method !== 'GET' && op.method !== 'DELETE')
      for (let i = 0; i < 4 * o.rounds; i++) probes.push(randomProbe(r));
    for (const p of probes) await send(o, op, p, report);
  }
  return report;
}

async function send(o: ApiFuzzOptions, op: Operation, p: Probe, report: ApiFuzzReport): Promise<void> {
  const path = op.path.replace(
    /\{(\w+)\}/g,
    (_, name: string) => p.params?.(name) ?? realParams[name] ?? 'fz-missing',
  );
  const headers: Record<string, string> = { authorization: `Bearer ${o.key}` };
  if (p.contentType) headers['content-type'] = p.contentType;
  if (p.encoding) headers['content-encoding'] = p.encoding;
  const where = `seed ${o.seed}: ${op.method} ${op.path} with ${p.what}`;
  let res: Response;
  try {
    res = await fetch(`${o.url}${path}${p.query ?? ''}`, {
      method: op.method,
      headers,
      body: op.method === 'GET' || op.method === 'HEAD' ? undefined : p.body,
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    report.findings.push(`${where}: no answer (${String(e).slice(0, 120)})`);
    return;
  }
  report.requests++;
  report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
  // Streams (SSE) are read to their end too: an error after the first byte must not leak either.
  // A name the caller sent may come back in its 400 ("dataset '../../etc/passwd' must match ..."):
  // that is its own input, not a path of the server's.
  const sent = p.params?.('') ?? '';
  const body = (await res.text()).split(safeDecode(sent)).join('');
  if (res.status >= 500) report.findings.push(`${where}: ${res.status} ${body.slice(0, 300)}`);
  // Errors are checked for paths; a success may echo what a caller stored (the audit log lists
  // the traversal names this fuzzer sent), and the docs pages hold script paths.
  for (const [what, pattern] of LEAKS)
    if (pattern.test(body) && (res.status >= 400 || what === 'a stack trace') && !DOC_PAGES.test(op.path))
      report.findings.push(`${where}: the answer holds ${what}: ${body.slice(0, 300)}`);
  if (body.includes(o.key)) report.findings.push(`${where}: the answer holds the key`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s) || '\u0000\u0000';
  } catch {
    return s || '\u0000\u0000';
  }
}
