/**
 * The `maas` command.
 *
 *   maas serve [--port 8080 --data-dir ./data ...]     start the server (flags = env options)
 *   maas models ls [--scope own|all]                   list models (yours, then others' public ones)
 *   maas models push NAME FILE|FOLDER [--variant V] [--task T] [--max-batch-size N] [--max-delay-ms N]
 *   maas chat NAME [--system S]                        interactive chat (see ./chat.ts)
 *   maas models rm NAME [--version V]
 *   maas models export NAME DIR [--version V]        a decoder version as a Hugging Face folder
 *   maas infer NAME [--version V] [--input FILE]        KServe v2 JSON in (stdin or file), JSON out
 *   maas tenants|keys|usage ...                          see ./tenancy.ts
 *
 * Client commands take --url/--key or MAAS_URL/MAAS_KEY; without a key they try the admin key a
 * local server saved in $MAAS_DATA_DIR (default ./data).
 */
import { openAsBlob } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { startServer, stopOnSignals } from '../api/serve';
import { isMaasError } from '../common/errors';
import { packFolderStream } from '../data/formats/folder-pack';
import { configSpec, loadConfig } from '../platform/config';
import { MaasApiError } from '../sdk/client';
import { chatCommand } from './chat';
import { exportCommand } from './export';
import { type CliIO, client, clientFlags, only, type Parsed, parseArgs, UsageError } from './shared';
import { TASK_USAGE, taskCommands } from './tasks';
import { TENANCY_USAGE, table, tenancyCommands } from './tenancy';
import { datasetsCommand, predictCommand, trainCommand, trainingsCommand } from './train';
import { ZOO_USAGE, zooCommand } from './zoo';

export { type CliIO, parseArgs };

const USAGE = `usage:
  maas serve [options]                 start the server (maas serve --help lists options)
  maas models ls [--scope own|all]   (all: yours, then others' public models as OWNER~NAME)
  maas models push NAME FILE|FOLDER [--variant q4] [--task T] [--description D] [--max-batch-size N] [--max-delay-ms N]
                                       (FOLDER: a Hugging Face ONNX model folder, packed as it uploads)
  maas chat NAME [--system S] [--temperature T] [--max-tokens N] [--seed S]
                                       (interactive; /system TEXT, /reset, /exit)
  maas models rm NAME [--version V]
  maas models export NAME DIR [--version V]   (a decoder as a Hugging Face folder: transformers.js loads it)
  maas models public NAME [true|false]   (others call a public model as OWNER~NAME)
  maas infer NAME [--version V] [--input FILE]   (KServe v2 JSON request on stdin or in FILE)
${TENANCY_USAGE}
${TASK_USAGE}
  maas datasets push NAME FILE | ls | show NAME | rm NAME
  maas train --family mlp|cnn|text-cnn --dataset D --model M [--target T] [--epochs N]
             [--batch-size N] [--learning-rate X] [--hidden 64,32 ...] [--follow]
  maas trainings ls | show ID | cancel ID
  maas predict NAME --input '{"col": 1}' | --input 'some text' | --image FILE
${ZOO_USAGE}
client options: --url URL (MAAS_URL, default http://127.0.0.1:8080)  --key KEY (MAAS_KEY)`;

async function models(p: Parsed, io: CliIO): Promise<void> {
  const [, sub, name, file] = p.positional;
  if (sub === 'ls') {
    only(p.flags, [...clientFlags, '--scope']);
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
    only(p.flags, [
      ...clientFlags,
      '--task',
      '--description',
      '--max-batch-size',
      '--max-delay-ms',
      '--max-queue',
      '--timeout-ms',
      '--variant',
    ]);
    if (!name || !file) throw new UsageError('maas models push NAME FILE|FOLDER');
    const opt = (f: string) => (p.flags[f] === undefined ? undefined : Number(p.flags[f]));
    // A folder (a Hugging Face model folder) goes as a .tar.gz packed while it uploads.
    const body = (await stat(file)).isDirectory()
      ? (Readable.toWeb(await packFolderStream(file)) as ReadableStream<Uint8Array>)
      : await openAsBlob(file);
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
    for (const i of v.signature.inputs) io.out(`  input  ${i.name}: ${i.dtype} [${i.shape.join(', ')}]`);
    for (const o of v.signature.outputs) io.out(`  output ${o.name}: ${o.dtype} [${o.shape.join(', ')}]`);
  } else if (sub === 'public') {
    only(p.flags, clientFlags);
    const on = p.positional[3] ?? 'true';
    if (!name || !['true', 'false'].includes(on))
      throw new UsageError('maas models public NAME [true|false]');
    const m = await (await client(p.flags, io)).updateModel(name, { public: on === 'true' });
    io.out(
      `${m.name} is ${on === 'true' ? 'public: others call it as' : 'private again, was'} ${m.owner}~${m.name}`,
    );
  } else if (sub === 'export') {
    await exportCommand(p, io);
  } else if (sub === 'rm') {
    only(p.flags, [...clientFlags, '--version']);
    if (!name) throw new UsageError('maas models rm NAME [--version V]');
    await (await client(p.flags, io)).deleteModel(name, p.flags['--version']);
    io.out(p.flags['--version'] ? `removed ${name} version ${p.flags['--version']}` : `removed ${name}`);
  } else throw new UsageError(`unknown command: models ${sub ?? ''}`);
}

async function infer(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, [...clientFlags, '--version', '--input']);
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

async function serve(p: Parsed, io: CliIO): Promise<void> {
  if ('--help' in p.flags || p.positional.includes('--help')) {
    for (const s of Object.values(configSpec)) io.out(`  ${s.flag.padEnd(24)} ${s.env.padEnd(26)} ${s.doc}`);
    return;
  }
  const config = loadConfig(io.env, p.flags);
  const server = await startServer(config, io.out);
  stopOnSignals(server);
}

const commands: Record<string, (p: Parsed, io: CliIO) => Promise<void>> = {
  serve,
  models,
  infer,
  chat: chatCommand,
  ...tenancyCommands,
  ...taskCommands,
  datasets: datasetsCommand,
  trainings: trainingsCommand,
  predict: predictCommand,
  zoo: zooCommand,
  train: async (p, io) => {
    if (!(await trainCommand(p, io))) throw new Error('the training did not succeed');
  },
};

/** Runs one command; returns the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    if (argv.includes('--help') && argv[0] !== 'serve') {
      io.out(USAGE);
      return 0;
    }
    const p = parseArgs(argv);
    const command = commands[p.positional[0] ?? ''];
    if (!command)
      throw new UsageError(p.positional[0] ? `unknown command: ${p.positional[0]}` : 'no command');
    await command(p, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) io.err(`error: ${e.message}\n${USAGE}`);
    else if (e instanceof MaasApiError) {
      const code = e.code.startsWith('http_') ? '' : `${e.code}, `;
      io.err(`error: ${e.message}${e.status ? ` (${code}HTTP ${e.status})` : ''}`);
    } else if (isMaasError(e)) io.err(`error: ${e.message}`);
    else if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      io.err(`error: no such file: ${(e as NodeJS.ErrnoException).path}`);
    else io.err(`error: ${(e as Error).message ?? e}`);
    return 1;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const isEntry = process.argv[1] && /(?:main\.ts|maas(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
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
    // `serve` keeps running until a signal; other commands exit with their code.
    if (process.argv[2] !== 'serve' || code !== 0) process.exitCode = code;
  });
}
