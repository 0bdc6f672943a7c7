/**
 * Every flag of every `maas` verb, with its help text: one table that `maas VERB --help` prints
 * and that `only()` checks typed flags against (an unknown flag gets "did you mean --epochs?").
 * `maas serve` reads its options from the config table (src/platform/config.ts) instead, and
 * `maas train` adds the families' hyperparameters (src/cli/train.ts).
 */
import { didYouMean } from '../common/suggest';

/** What each flag means, shown by `--help`. */
export const FLAG_DOCS: Record<string, string> = {
  '--url': 'server URL (MAAS_URL; default http://127.0.0.1:8080)',
  '--key': 'API key (MAAS_KEY; default: the admin key a local server saved in $MAAS_DATA_DIR/admin.key)',
  '--version': 'model version number or alias (default: the latest)',
  '--scope': "own: your models only; all (default): yours, then others' public ones as OWNER~NAME",
  '--task': 'the task the model serves (e.g. classify, embed; default: guessed from its signature)',
  '--description': 'a line about the model',
  '--max-batch-size': 'requests stacked into one run (default: MAAS_MAX_BATCH_SIZE)',
  '--max-delay-ms': 'how long a batch waits for more requests, ms (default: MAAS_MAX_DELAY_MS)',
  '--max-queue': 'requests that may wait for this model before 429 (default: MAAS_QUEUE_SIZE)',
  '--timeout-ms': 'deadline of one request, ms (default: MAAS_REQUEST_TIMEOUT_MS)',
  '--input':
    'infer: FILE with a KServe v2 JSON request (default: stdin); predict: a JSON row, a list, or text',
  '--image': 'a PNG or JPEG file',
  '--requests-per-minute': 'limit: requests per minute',
  '--units-per-minute': 'limit: billed units per minute',
  '--monthly-units': 'limit: billed units per calendar month',
  '--tenant': 'the tenant (admin keys only; default: your own)',
  '--scopes': 'comma-separated: infer, manage, admin',
  '--from': 'first day, YYYY-MM-DD',
  '--to': 'last day, YYYY-MM-DD',
  '--by': 'group by: day, model, key, tenant (comma-separated; default day,model,key)',
  '--max-tokens': 'tokens to generate at most',
  '--temperature': 'sampling temperature (0 = greedy)',
  '--top-p': 'nucleus sampling: keep the smallest set of tokens with this total probability',
  '--top-k': 'keep the K most likely tokens',
  '--seed': 'random seed (same seed, same output)',
  '--stop': 'stop when this text is generated',
  '--out': 'the file to write',
  '--n': 'number of images',
  '--width': 'image width in pixels',
  '--height': 'image height in pixels',
  '--model': 'train: the model name to register; speak: the voice model (default tts)',
  '--voice': 'voice name',
  '--speed': 'speaking rate (1 = normal)',
  '--text': 'a text to explain',
  '--row': 'a JSON object, e.g. \'{"x1": 0.5, "colour": "red"}\'',
  '--target': 'train: the column to predict (default: label); explain: the class to explain',
  '--top': 'how many features or tokens to show (default 10)',
  '--method':
    'explain, uploaded ONNX classifiers: gradient, smoothgrad or integrated_gradients (default: smoothgrad for images, gradient for rows)',
  '--input-name': "explain: the uploaded graph's input to explain, when it has several",
  '--output-name': "explain: the uploaded graph's output to explain, when it has several",
  '--family':
    'mlp (tables), cnn (images), text-cnn (texts); beside --base only a fine-tuning family: onnx (the default) or lora',
  '--base':
    'fine-tune this uploaded model, NAME or NAME:VERSION (or :ALIAS), instead of training a --family from scratch',
  '--train-last':
    'fine-tuning: train the last N layers (nodes with weights), freeze the rest; 0: all (hyperparameters.trainable_layers)',
  '--train':
    'fine-tuning: train exactly these weights, by initializer name, comma-separated (hyperparameters.trainable_parameters)',
  '--new-head':
    "fine-tuning: always a new classification head (replace_head always; by default only when the labels differ from the base's; a switch)",
  '--dataset': 'a dataset name (maas datasets ls)',
  '--follow': 'stay and show progress until the training ends (a switch)',
  '--hyperparameters': 'a JSON object of hyperparameters, e.g. \'{"hidden": [64, 32]}\'',
  '--only': 'comma-separated zoo model names (default: all)',
  '--quick': 'the small, fast scale (a switch)',
  '--strict':
    'refuse inputs the model would misread (unknown or missing columns, unseen categories) instead of warning (a switch)',
  '--variant':
    "a model folder's graph variant, e.g. q4 or quantized (onnx/model_q4.onnx; default: the full-precision model.onnx)",
  '--system': 'the system message the chat starts with',
  '--keep-head':
    "quantize: keep the head (the LM head, a classifier's last layer) in float (a switch; embeddings always stay float)",
  '--adapter':
    "models export: a LoRA-tuned version's adapter alone (PEFT's adapter_config.json and adapter_model.safetensors; a switch)",
  '--data-dir': 'the data folder (MAAS_DATA_DIR; default ./data)',
  '--database-url': 'the PostgreSQL database (MAAS_DATABASE_URL), postgres://user@host:5432/db',
  '--schema': "the PostgreSQL schema (MAAS_DATABASE_SCHEMA; default: the server's current one)",
};

/** Flags that take no value: `--follow` alone means true. */
export const SWITCHES = new Set([
  '--follow',
  '--quick',
  '--strict',
  '--keep-head',
  '--adapter',
  '--new-head',
]);

export const CLIENT_FLAGS = ['--url', '--key'] as const;
const LIMITS = ['--requests-per-minute', '--units-per-minute', '--monthly-units'];
const TASK = [...CLIENT_FLAGS, '--version'];

/** The flags each verb (or verb + subcommand) accepts. */
export const VERB_FLAGS: Record<string, readonly string[]> = {
  'models ls': [...CLIENT_FLAGS, '--scope'],
  'models push': [
    ...CLIENT_FLAGS,
    '--task',
    '--description',
    '--max-batch-size',
    '--max-delay-ms',
    '--max-queue',
    '--timeout-ms',
    '--variant',
  ],
  chat: [...CLIENT_FLAGS, '--version', '--system', '--temperature', '--max-tokens', '--seed'],
  'models rm': [...CLIENT_FLAGS, '--version'],
  'models export': [...CLIENT_FLAGS, '--version', '--adapter'],
  'models quantize': [...CLIENT_FLAGS, '--version', '--to', '--keep-head'],
  migrate: ['--database-url', '--schema'],
  'models public': [...CLIENT_FLAGS],
  infer: [...CLIENT_FLAGS, '--version', '--input'],
  'tenants create': [...CLIENT_FLAGS, ...LIMITS],
  'tenants ls': [...CLIENT_FLAGS],
  'keys create': [...CLIENT_FLAGS, '--tenant', '--scopes', ...LIMITS],
  'keys ls': [...CLIENT_FLAGS, '--tenant'],
  'keys revoke': [...CLIENT_FLAGS],
  usage: [...CLIENT_FLAGS, '--from', '--to', '--by', '--tenant'],
  generate: [...TASK, '--max-tokens', '--temperature', '--top-p', '--top-k', '--seed', '--stop'],
  embed: TASK,
  imagine: [...TASK, '--out', '--n', '--width', '--height', '--seed'],
  speak: [...TASK, '--out', '--model', '--voice', '--speed'],
  classify: TASK,
  explain: [
    ...TASK,
    '--image',
    '--text',
    '--row',
    '--target',
    '--out',
    '--top',
    '--method',
    '--input-name',
    '--output-name',
  ],
  datasets: [...CLIENT_FLAGS],
  train: [
    ...CLIENT_FLAGS,
    '--family',
    '--base',
    '--dataset',
    '--model',
    '--target',
    '--train-last',
    '--train',
    '--new-head',
    '--follow',
    '--hyperparameters',
  ],
  trainings: [...CLIENT_FLAGS],
  predict: [...CLIENT_FLAGS, '--version', '--input', '--image', '--strict'],
  'zoo train': ['--only', '--quick', '--seed', '--data-dir'],
  'zoo ls': [...CLIENT_FLAGS, '--data-dir'],
};

/** A flag that means different things to different verbs is described per verb form. */
const FORM_FLAG_DOCS: Record<string, Record<string, string>> = {
  'models quantize': { '--to': 'int8 or int4' },
};

export class UsageError extends Error {}

/** `unknown option --epoch for maas train (did you mean --epochs?)`. */
export function unknownFlag(flag: string, verb: string, known: Iterable<string>): UsageError {
  const hint = didYouMean(flag, known, '');
  return new UsageError(
    `unknown option ${flag} for maas ${verb}${hint ? ` (${hint})` : ''}; maas ${verb.split(' ')[0]} --help lists them`,
  );
}

/** Throws a UsageError for the first flag that `verb` does not take. */
export function only(flags: Record<string, string>, verb: string, extra: readonly string[] = []): void {
  const allowed = [...(VERB_FLAGS[verb] ?? []), ...extra];
  for (const f of Object.keys(flags)) if (!allowed.includes(f)) throw unknownFlag(f, verb, allowed);
}

/**
 * `  --max-tokens N   tokens to generate at most` lines for the flags of the verb forms `forms`
 * (`models` shows those of `models rm`, `models quantize`, …): a flag's text is its form's own
 * when one of them has one, else the common one.
 */
export function flagLines(flags: readonly string[], forms: readonly string[] = []): string[] {
  const width = Math.max(...flags.map((f) => f.length)) + 2;
  const describe = (f: string) =>
    forms.map((form) => FORM_FLAG_DOCS[form]?.[f]).find((d) => d !== undefined) ?? FLAG_DOCS[f] ?? '';
  return flags.map((f) => `  ${f.padEnd(width)}${describe(f)}`);
}
