/**
 * The `maas` command.
 *
 *   maas serve [--port 8080 --data-dir ./data ...]     start the server (flags = env options)
 *   maas models ls [--scope own|all]                   list models (yours, then others' public ones)
 *   maas models push NAME FILE|FOLDER [--variant V] [--task T] [--max-batch-size N] [--max-delay-ms N]
 *   maas chat NAME [--system S]                        interactive chat (see ./chat.ts)
 *   maas models rm NAME [--version V]
 *   maas models export NAME DIR [--version V] [--adapter]   a decoder version as a Hugging Face folder (or a LoRA version's adapter)
 *   maas models quantize NAME --to int8|int4 [--version V] [--keep-head]   a quantised version
 *   maas infer NAME [--version V] [--input FILE]        KServe v2 JSON in (stdin or file), JSON out
 *   maas tenants|keys|usage ...                          see ./tenancy.ts
 *   maas migrate [--database-url URL] [--schema NAME]   apply PostgreSQL migrations (./migrate.ts)
 *
 * Client commands take --url/--key or MAAS_URL/MAAS_KEY; without a key they try the admin key a
 * local server saved in $MAAS_DATA_DIR (default ./data).
 */
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { isMaasError } from '../common/errors';
import { didYouMean } from '../common/suggest';
import { MaasApiError } from '../sdk/client';
import { chatCommand } from './chat';
import { flagLines, VERB_FLAGS } from './flags';
import { type CliIO, client, fileBlob, only, type Parsed, parseArgs, UsageError } from './shared';
import { taskCommands } from './tasks';
import { table, tenancyCommands } from './tenancy';
import { datasetsCommand, predictCommand, trainCommand, trainHelp, trainingsCommand } from './train';

export { type CliIO, parseArgs };

// `maas --help` and every client verb must start fast (< 300 ms): the server, the platform and
// the zoo (fastify, ONNX Runtime, SQLite, the model code), the store adapters (migrate) and the
// archive code (folder push, export) are imported only by the verbs that use them, in the
// functions below: a client verb loads the HTTP client and its own few files.

/** One line per verb form; `maas VERB --help` shows the lines of VERB and its flags. */
const USAGE_LINES = [
  'maas serve [options]                 start the server (maas serve --help lists options)',
  'maas migrate [--database-url URL] [--schema NAME]   apply PostgreSQL migrations (MAAS_DATABASE_URL)',
  "maas models ls [--scope own|all]     (all: yours, then others' public models as OWNER~NAME)",
  'maas models push NAME FILE [--task T] [--description D] [--max-batch-size N] [--max-delay-ms N]',
  '                 [--max-queue N] [--timeout-ms N]',
  'maas models push NAME FOLDER [--variant q4]   (a Hugging Face ONNX model folder, packed as it uploads)',
  'maas chat NAME [--system S] [--temperature T] [--max-tokens N] [--seed S]   (interactive; /system TEXT, /reset, /exit)',
  'maas models rm NAME [--version V]',
  "maas models export NAME DIR [--version V] [--adapter]   (a decoder as a Hugging Face folder: transformers.js loads it; --adapter: a LoRA version's adapter alone, PEFT's layout)",
  'maas models quantize NAME --to int8|int4 [--version V] [--keep-head]   (a new version with quantised weights, and its quality cost)',
  'maas models public NAME [true|false]   (others call a public model as OWNER~NAME)',
  'maas infer NAME [--version V] [--input FILE]   (KServe v2 JSON request on stdin or in FILE)',
  'maas tenants create NAME [LIMITS]   |  maas tenants ls',
  'maas keys create NAME --scopes infer[,manage,admin] [--tenant T] [LIMITS]',
  'maas keys ls [--tenant T]           |  maas keys revoke KEY_ID',
  'maas usage [--from DATE] [--to DATE] [--by day,model,key,tenant] [--tenant T]',
  'maas generate NAME PROMPT [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--stop S]',
  'maas embed NAME TEXT...',
  'maas imagine NAME PROMPT --out FILE.png [--n N] [--width W] [--height H] [--seed S]',
  'maas speak TEXT --out FILE.wav [--model tts] [--voice V] [--speed X]',
  'maas classify NAME INPUT...',
  'maas explain NAME --image X.png --out HEAT.png | --text TEXT | --row JSON [--target LABEL] [--top N]',
  '             [--method M] [--input-name I] [--output-name O]',
  'maas datasets push NAME FILE | ls | show NAME | rm NAME',
  'maas train --family mlp|cnn|text-cnn --dataset D --model M [--target T] [--epochs N]',
  '           [--batch-size N] [--learning-rate X] [--hidden 64,32 ...] [--follow]',
  'maas train --base NAME[:VERSION] --dataset D --model M [--target T] [--train-last N | --train P,P]',
  '           [--new-head] [--epochs N ...] [--follow]   (fine-tune an uploaded ONNX image classifier)',
  'maas trainings ls | show ID | follow ID | cancel ID',
  "maas predict NAME --input '{\"col\": 1}' | --input 'some text' | --image FILE [--version V] [--strict]",
  'maas zoo train [--only NAME,NAME] [--quick] [--seed N] [--data-dir D]   (in-process; public as zoo~NAME)',
  "maas zoo ls [--url U] [--data-dir D]   (the running server's state and progress, else the data folder's)",
];

const USAGE = `usage:
${USAGE_LINES.map((l) => `  ${l}`).join('\n')}
  LIMITS: --requests-per-minute N --units-per-minute N --monthly-units N
  task verbs (generate … explain) also take --version V
client options: --url URL (MAAS_URL, default http://127.0.0.1:8080)  --key KEY (MAAS_KEY, else
  the admin key a local server saved in $MAAS_DATA_DIR/admin.key, default ./data/admin.key)
maas VERB --help lists the options of one verb.`;

/** `maas VERB --help`: its usage lines (with their continuation lines) and every flag it takes. */
async function verbHelp(verb: string): Promise<string | null> {
  const lines: string[] = [];
  let mine = false;
  for (const l of USAGE_LINES) {
    if (l.startsWith('maas ')) mine = l.startsWith(`maas ${verb} `) || l.includes(`|  maas ${verb} `);
    if (mine) lines.push(`  ${l}`);
  }
  const forms = Object.keys(VERB_FLAGS).filter((k) => k === verb || k.startsWith(`${verb} `));
  if (lines.length === 0 && forms.length === 0) return null;
  const flags = [...new Set(forms.flatMap((k) => VERB_FLAGS[k]))];
  const out = ['usage:', ...lines];
  if (flags.length > 0) out.push('', 'options:', ...flagLines(flags, forms));
  if (verb === 'train') out.push(...(await trainHelp()));
  return out.join('\n');
}

async function models(p: Parsed, io: CliIO): Promise<void> {
  const [, sub, name, file] = p.positional;
  if (sub === 'ls') {
    only(p.flags, 'models ls');
    const scope = p.flags['--scope'] ?? 'all';
    if (scope !== 'own' && scope !== 'all') throw new UsageError('maas models ls [--scope own|all]');
    const list = await (await client(p.flags, io)).listModels(scope);
    if (list.length === 0) io.out('no models');
    else
      io.out(
        table(
          ['ID', 'OWNER', 'TASK', 'PUBLIC', 'UPDATED'],
          list.map((m) => [m.id, m.owner, m.task ?? '-', m.public ? 'yes' : 'no', m.updatedAt]),
        ),
      );
  } else if (sub === 'push') {
    only(p.flags, 'models push');
    if (!name || !file) throw new UsageError('maas models push NAME FILE|FOLDER');
    const opt = (f: string) => (p.flags[f] === undefined ? undefined : Number(p.flags[f]));
    // A folder (a Hugging Face model folder) goes as a .tar packed while it uploads (push-folder.ts).
    const isFolder = await stat(file).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const body = isFolder
      ? await (await import('./push-folder')).folderBody(file, p.flags['--variant'])
      : await fileBlob(file);
    const v = await (await client(p.flags, io)).pushModel(name, body, {
      variant: p.flags['--variant'],
      task: p.flags['--task'],
      description: p.flags['--description'],
      max_batch_size: opt('--max-batch-size'),
      max_delay_ms: opt('--max-delay-ms'),
      max_queue: opt('--max-queue'),
      timeout_ms: opt('--timeout-ms'),
    });
    io.out(`pushed ${v.model} version ${v.version} (${v.digest}, ${v.sizeBytes} bytes)`);
    const meta = v.metadata as Record<string, unknown>;
    if (meta.kind === 'decoder-lm') {
      io.out(
        `  ${meta.architecture}, context ${meta.context} tokens, vocabulary ${meta.vocabSize}, ${meta.parameters} parameters, variant ${meta.variant} (quantisation: ${meta.quantization})`,
      );
    }
    if (meta.kind === 'text-embedding') {
      const e = meta.encoder as { hidden: number; pooling: string[]; normalize: boolean };
      io.out(
        `  ${meta.architecture} text embedding, context ${meta.context} tokens, ${e.hidden * e.pooling.length} dimensions (pooling: ${e.pooling.join('+')}${e.normalize ? ', normalised' : ''})`,
      );
    }
    for (const i of v.signature.inputs) io.out(`  input  ${i.name}: ${i.dtype} [${i.shape.join(', ')}]`);
    for (const o of v.signature.outputs) io.out(`  output ${o.name}: ${o.dtype} [${o.shape.join(', ')}]`);
  } else if (sub === 'public') {
    only(p.flags, 'models public');
    const on = p.positional[3] ?? 'true';
    if (!name || !['true', 'false'].includes(on))
      throw new UsageError('maas models public NAME [true|false]');
    const m = await (await client(p.flags, io)).updateModel(name, { public: on === 'true' });
    io.out(
      `${m.name} is ${on === 'true' ? 'public: others call it as' : 'private again, was'} ${m.owner}~${m.name}`,
    );
  } else if (sub === 'export') {
    await (await import('./export')).exportCommand(p, io);
  } else if (sub === 'quantize') {
    await (await import('./quantize')).quantizeCommand(p, io);
  } else if (sub === 'rm') {
    only(p.flags, 'models rm');
    if (!name) throw new UsageError('maas models rm NAME [--version V]');
    await (await client(p.flags, io)).deleteModel(name, p.flags['--version']);
    io.out(p.flags['--version'] ? `removed ${name} version ${p.flags['--version']}` : `removed ${name}`);
  } else throw new UsageError(`unknown command: models ${sub ?? ''}`);
}

async function infer(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'infer');
  const name = p.positional[1];
  if (!name) throw new UsageError('maas infer NAME [--input FILE]');
  const text = p.flags['--input'] ? await readFile(p.flags['--input'], 'utf8') : await io.stdin();
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    throw new UsageError('the input is not JSON: send a KServe v2 request, e.g. {"inputs": [{"name": ...}]}');
  }
  const res = await (await client(p.flags, io)).infer(name, request as never, p.flags['--version']);
  io.out(JSON.stringify(res));
}

async function serveHelp(): Promise<string> {
  const { configSpec } = await import('../platform/config');
  const specs = Object.values(configSpec);
  const flagWidth = Math.max(...specs.map((s) => s.flag.length)) + 1;
  const envWidth = Math.max(...specs.map((s) => s.env.length)) + 1;
  const rows = specs.map(
    (s) =>
      `  ${s.flag.padEnd(flagWidth)} ${s.env.padEnd(envWidth)} ${s.doc}${'default' in s && s.default !== null ? ` (default ${s.default})` : ''}`,
  );
  return [
    'usage: maas serve [options]   (each option: --flag VALUE, or its environment variable; --flag alone = true)',
    ...rows,
  ].join('\n');
}

async function serve(p: Parsed, io: CliIO): Promise<void> {
  const { loadConfig } = await import('../platform/config');
  const { startServer, stopOnSignals } = await import('../api/serve');
  const config = loadConfig(io.env, p.flags);
  const server = await startServer(config, io.out);
  stopOnSignals(server);
}

const commands: Record<string, (p: Parsed, io: CliIO) => Promise<void>> = {
  serve,
  migrate: async (p, io) => (await import('./migrate')).migrateCommand(p, io),
  models,
  infer,
  chat: chatCommand,
  ...tenancyCommands,
  ...taskCommands,
  datasets: datasetsCommand,
  trainings: trainingsCommand,
  predict: predictCommand,
  zoo: async (p, io) => (await import('./zoo')).zooCommand(p, io),
  train: async (p, io) => {
    if (!(await trainCommand(p, io))) throw new Error('the training did not succeed');
  },
};

/** What a CLI user does about a 401: where a key comes from. */
const NO_KEY_HINT = `the server wants an API key: pass --key KEY or set MAAS_KEY; on the machine that runs
the server, the admin key is in its data folder (data/admin.key; maas reads it by itself when
MAAS_DATA_DIR or ./data points there), and maas keys create makes keys for others`;

/** Runs one command; returns the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
      const verb = argv[0] === 'help' ? argv[1] : argv[0];
      const help = verb === 'serve' ? await serveHelp() : verb ? await verbHelp(verb) : null;
      io.out(help ?? USAGE);
      return 0;
    }
    const p = parseArgs(argv);
    const command = commands[p.positional[0] ?? ''];
    if (!command) {
      if (!p.positional[0]) {
        io.err(USAGE);
        return 1;
      }
      const hint = didYouMean(p.positional[0], Object.keys(commands), '');
      throw new UsageError(`unknown command: ${p.positional[0]}${hint ? ` (${hint})` : ''}`);
    }
    await command(p, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError)
      io.err(
        `error: ${e.message}${e.message.includes('--help') ? '' : '\n(maas --help lists the commands)'}`,
      );
    else if (e instanceof MaasApiError) {
      const code = e.code.startsWith('http_') ? '' : `${e.code}, `;
      io.err(`error: ${e.message}${e.status ? ` (${code}HTTP ${e.status})` : ''}`);
      if (e.status === 401) io.err(NO_KEY_HINT);
    } else if (isMaasError(e)) io.err(`error: ${e.message}`);
    else if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      io.err(`error: no such file: ${(e as NodeJS.ErrnoException).path}`);
    else io.err(`error: ${(e as Error).message ?? e}`);
    return 1;
  }
}

async function readStdin(): Promise<string> {
  // A terminal would wait for typing that nobody knows is expected.
  if (process.stdin.isTTY)
    throw new UsageError('send the request on stdin (a pipe or a file: < req.json) or with --input FILE');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const isEntry = process.argv[1] && /(?:main\.ts|maas(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  // A client verb makes one or two HTTP calls through fetch, whose HTTP parser is WebAssembly:
  // V8 recompiles it in the background (TurboFan) and process exit waits for that, ≈ 1 s more on
  // a busy machine. The baseline compiler alone is plenty for a short-lived command.
  if (process.argv[2] !== 'serve') setFlagsFromString('--liftoff-only');
  // `maas … | head`: the reader closed the pipe and wants no more; stop quietly, as Unix tools do,
  // instead of dying on an unhandled EPIPE.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  const io: CliIO = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    env: process.env,
    stdin: readStdin,
    lines: () => createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator](),
    write: (s) => process.stdout.write(s),
    progress: process.stdout.isTTY ? (s) => process.stdout.write(`\r${s}\x1b[K`) : undefined,
  };
  main(process.argv.slice(2), io).then((code) => {
    // `serve` keeps running until a signal; other commands exit with their code, at once: the
    // HTTP client's idle keep-alive socket would otherwise hold the process ≈ 1–4 s more.
    if (process.argv[2] === 'serve' && code === 0) return;
    process.exitCode = code;
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
