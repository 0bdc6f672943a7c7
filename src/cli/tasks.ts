/**
 * Task verbs of the `maas` command, over the native task endpoints:
 *
 *   maas generate NAME PROMPT [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--stop S]
 *   maas embed NAME TEXT...                         one JSON vector per line
 *   maas imagine NAME PROMPT --out FILE.png [--n N] [--width W] [--height H] [--seed S]
 *   maas speak TEXT --out FILE.wav [--model tts] [--voice V] [--speed X]
 *   maas classify NAME INPUT...                     label and probabilities per input
 *   maas explain NAME --image X.png --out HEAT.png | --text TEXT | --row JSON [--target LABEL] [--top N]
 *                [--method M] [--input-name I] [--output-name O]
 *                                                   why the classifier chose a class (saliency)
 *
 * Every verb takes --url/--key (MAAS_URL/MAAS_KEY, else the admin key saved in $MAAS_DATA_DIR) and
 * --version V.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaasApiError } from '../sdk/client';
import { only } from './flags';
import { httpFetch } from './http-fetch';

/** The shapes main.ts passes (declared here: importing main.ts would be a cycle). */
interface Args {
  positional: string[];
  flags: Record<string, string>;
}
interface TaskIO {
  out: (s: string) => void;
  /** Warnings go here (stderr), so stdout stays the answer alone. */
  err?: (s: string) => void;
  env: Record<string, string | undefined>;
}

function numberFlag(flags: Record<string, string>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} needs a number, got '${v}'`);
  return n;
}

/** POST a task request; JSON answers are parsed, binary ones returned as bytes. */
async function call(p: Args, io: TaskIO, model: string, task: string, body: Record<string, unknown>) {
  const url = (p.flags['--url'] ?? io.env.MAAS_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let key: string | undefined = p.flags['--key'] ?? io.env.MAAS_KEY;
  key ??= await readFile(join(io.env.MAAS_DATA_DIR ?? './data', 'admin.key'), 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
  const version = p.flags['--version'];
  const payload =
    version === undefined ? body : { ...body, version: /^[0-9]+$/.test(version) ? Number(version) : version };
  let res: Response;
  try {
    res = await httpFetch(`${url}/api/v1/models/${encodeURIComponent(model)}/${task}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(payload),
    });
  } catch (e) {
    throw new MaasApiError(0, 'unreachable', `cannot reach maas at ${url} (${(e as Error).cause ?? e})`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const isJson = /json/.test(res.headers.get('content-type') ?? '');
  if (!res.ok) {
    const problem = isJson
      ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as { code?: string; detail?: string })
      : {};
    throw new MaasApiError(
      res.status,
      problem.code ?? `http_${res.status}`,
      problem.detail ?? res.statusText,
    );
  }
  return isJson ? JSON.parse(Buffer.from(bytes).toString('utf8')) : bytes;
}

async function generate(p: Args, io: TaskIO): Promise<void> {
  only(p.flags, 'generate');
  const [, name, ...words] = p.positional;
  if (!name || words.length === 0) throw new Error('usage: maas generate NAME PROMPT');
  const out = await call(p, io, name, 'generate', {
    prompt: words.join(' '),
    max_tokens: numberFlag(p.flags, '--max-tokens'),
    temperature: numberFlag(p.flags, '--temperature'),
    top_p: numberFlag(p.flags, '--top-p'),
    top_k: numberFlag(p.flags, '--top-k'),
    seed: numberFlag(p.flags, '--seed'),
    stop: p.flags['--stop'],
  });
  io.out(out.choices[0].text);
}

async function embed(p: Args, io: TaskIO): Promise<void> {
  only(p.flags, 'embed');
  const [, name, ...texts] = p.positional;
  if (!name || texts.length === 0) throw new Error('usage: maas embed NAME TEXT...');
  const out = await call(p, io, name, 'embed', { input: texts });
  for (const w of (out.warnings ?? []) as { detail: string }[]) (io.err ?? io.out)(`warning: ${w.detail}`);
  for (const v of out.embeddings as number[][]) io.out(JSON.stringify(v));
}

/** `a.png` for one image; `a-1.png`, `a-2.png` ... for several. */
const numbered = (file: string, i: number, n: number) =>
  n === 1 ? file : file.replace(/(\.png)?$/i, (ext) => `-${i + 1}${ext || '.png'}`);

async function imagine(p: Args, io: TaskIO): Promise<void> {
  only(p.flags, 'imagine');
  const [, name, ...words] = p.positional;
  const file = p.flags['--out'];
  if (!name || !file) throw new Error('usage: maas imagine NAME PROMPT --out FILE.png');
  const out = await call(p, io, name, 'imagine', {
    prompt: words.join(' '),
    n: numberFlag(p.flags, '--n'),
    width: numberFlag(p.flags, '--width'),
    height: numberFlag(p.flags, '--height'),
    seed: numberFlag(p.flags, '--seed'),
  });
  const images = out.images as { png_base64: string }[];
  for (const [i, img] of images.entries()) {
    const path = numbered(file, i, images.length);
    await writeFile(path, Buffer.from(img.png_base64, 'base64'));
    io.out(`wrote ${path}`);
  }
}

async function speak(p: Args, io: TaskIO): Promise<void> {
  only(p.flags, 'speak');
  const text = p.positional.slice(1).join(' ');
  const file = p.flags['--out'];
  if (!text || !file) throw new Error('usage: maas speak TEXT --out FILE.wav [--model tts] [--voice V]');
  const wav = await call(p, io, p.flags['--model'] ?? 'tts', 'speak', {
    input: text,
    voice: p.flags['--voice'],
    speed: numberFlag(p.flags, '--speed'),
  });
  await writeFile(file, wav as Uint8Array);
  io.out(`wrote ${file} (${(wav as Uint8Array).byteLength} bytes)`);
}

async function classify(p: Args, io: TaskIO): Promise<void> {
  only(p.flags, 'classify');
  const [, name, ...inputs] = p.positional;
  if (!name || inputs.length === 0) throw new Error('usage: maas classify NAME INPUT...');
  const out = await call(p, io, name, 'classify', { inputs });
  for (const [i, pred] of (
    out.predictions as { label: string; probabilities: Record<string, number> }[]
  ).entries()) {
    const probs = Object.entries(pred.probabilities)
      .map(([l, v]) => `${l}=${v.toFixed(3)}`)
      .join(' ');
    io.out(`${inputs[i]}\t${pred.label}\t${probs}`);
  }
}

interface Scored {
  score: number;
}

/** The `top` entries by |score|, as `name<TAB>score` lines. */
function topLines<T extends Scored>(items: readonly T[], top: number, name: (t: T) => string): string[] {
  return [...items]
    .sort((a, b) => Math.abs(b.score) - Math.abs(a.score))
    .slice(0, top)
    .map((t) => `${name(t)}\t${t.score.toPrecision(4)}`);
}

/** The request body for the one input given (--image, --text or --row). */
async function explainInput(flags: Record<string, string>): Promise<unknown> {
  const given = ['--image', '--text', '--row'].filter((f) => flags[f] !== undefined);
  if (given.length !== 1)
    throw new Error('maas explain needs exactly one of --image FILE, --text TEXT, --row JSON');
  if (flags['--image'] !== undefined) {
    if (flags['--out'] === undefined) throw new Error('--image needs --out FILE.png for the heat map');
    return (await readFile(flags['--image'])).toString('base64');
  }
  if (flags['--text'] !== undefined) return flags['--text'];
  try {
    return JSON.parse(flags['--row']);
  } catch {
    throw new Error('--row needs a JSON object, e.g. \'{"x1": 0.5, "colour": "red"}\'');
  }
}

/** Body fields named by flags. The server checks their values where they apply (uploaded ONNX classifiers); maas's own models have one method each and ignore them. */
const EXPLAIN_OPTIONS = {
  '--target': 'target',
  '--method': 'method',
  '--input-name': 'input_name',
  '--output-name': 'output_name',
} as const;

function explainOptions(flags: Record<string, string>): Record<string, string> {
  const body: Record<string, string> = {};
  for (const [flag, field] of Object.entries(EXPLAIN_OPTIONS))
    if (flags[flag] !== undefined) body[field] = flags[flag];
  return body;
}

async function explain(p: Args, io: TaskIO): Promise<void> {
  only(p.flags, 'explain');
  const [, name] = p.positional;
  if (!name || p.positional.length !== 2)
    throw new Error('usage: maas explain NAME --image FILE | --text TEXT | --row JSON');
  const top = numberFlag(p.flags, '--top') ?? 10;
  const out = await call(p, io, name, 'explain', {
    input: await explainInput(p.flags),
    ...explainOptions(p.flags),
  });
  const probability = (out.probabilities as Record<string, number>)[out.label as string];
  io.out(`explained ${out.label} (p=${probability.toFixed(3)}; predicted ${out.predicted})`);
  if (out.kind === 'image') {
    const png = Buffer.from(out.heatmap_png as string, 'base64');
    await writeFile(p.flags['--out'], png);
    io.out(`wrote ${p.flags['--out']} (${out.width}×${out.height} heat map, ${png.byteLength} bytes)`);
  } else if (out.kind === 'text') {
    for (const line of topLines(out.tokens as (Scored & { token: string })[], top, (t) => t.token))
      io.out(line);
  } else {
    const features = (out.features as (Scored & { feature: string })[]) ?? [];
    for (const line of topLines(features, top, (f) => f.feature)) io.out(line);
  }
}

export const taskCommands: Record<string, (p: Args, io: TaskIO) => Promise<void>> = {
  generate,
  embed,
  imagine,
  speak,
  classify,
  explain,
};
