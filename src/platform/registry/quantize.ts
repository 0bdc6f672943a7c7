/**
 * `POST /api/v1/models/{name}/versions/{v}/quantize`: a version's MatMul weights in int8 or int4
 * (src/engine/onnx/quantize) as a new version of the same model, with what it cost
 * (src/models/quantize/quality.ts).
 *
 *   uploaded folder  → a folder with the same tokenizer, config and template files and the
 *                      quantised graph beside where the float one was: `onnx/model_int8.onnx` or
 *                      `onnx/model_q4.onnx` (transformers.js's names for dtype int8 / q4; an
 *                      onnxruntime-genai folder keeps the path its genai_config.json names), its
 *                      weights in `<graph>_data` when the float graph kept them outside.
 *   single file      → the quantised ONNX file with the version's metadata (family, tokenizer…).
 *
 * The new version goes through the same upload path as any other (checks in the child process,
 * content-addressed files), with `lineage.quantized_from`, `quantization` and `quality` in its
 * metadata. Both graphs are compared before anything is stored.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { packTarGz } from '../../data/formats/tar-pack';
import { decodeModel, EngineSession, type QuantizeReport, type QuantizeTarget } from '../../engine/index';
import { toCatalogError } from '../../models/common/engine-errors';
import { quantizationOf } from '../../models/hf/index';
import { loadProse, splitProse } from '../../models/language/index';
import { compareQuality, type QualityReport } from '../../models/quantize/quality';
import { runtimeFor } from '../../models/runtimes';
import type { RuntimeContext, TokenInspector } from '../../models/task';
import type { VersionRecord } from '../../store/ports';
import { quantizeInWorker } from './quantize-thread';
import type { QuantizeJob } from './quantize-worker';
import { folderFiles, type Registry } from './registry';

export const QUANTIZE_TARGETS: readonly QuantizeTarget[] = ['int8', 'int4'];

export interface QuantizeRequest {
  to: QuantizeTarget;
  /** Keep the head (LM head, last layer) in float. */
  keepHead: boolean;
}

export interface QuantizeOutcome {
  version: VersionRecord;
  quantization: QuantizeReport;
  quality: QualityReport;
}

/** What each target is called in metadata and in a folder's file names. */
const targets: Record<QuantizeTarget, { variant: string }> = {
  int8: { variant: 'int8' },
  int4: { variant: 'q4' },
};

/** Families trained on the zoo corpus: their quality report includes held-out bits per char. */
const CORPUS_FAMILIES = new Set(['gpt', 'lstm-lm']);

interface Output {
  /** The quantised graph's folder path (in the temp folder and in the new version). */
  graph: string;
  /** A folder version (else one ONNX file). */
  folder: boolean;
  report: QuantizeReport;
}

/** location → the file in the version's folder view, for each external data file the graph names. */
async function externalFiles(
  graphFile: string,
  graphPath: string,
  v: VersionRecord,
): Promise<[string, string][]> {
  const inFolder = new Set(folderFiles(v).map((f) => f.path));
  const head = await readFile(graphFile);
  const out: [string, string][] = [];
  for (const location of decodeModel(new Uint8Array(head)).externalLocations) {
    const path = posix.normalize(posix.join(posix.dirname(graphPath), location));
    if (!inFolder.has(path))
      fail('invalid_model', `external data '${location}' of ${graphPath} is not in the version's folder`);
    out.push([location, join(dirname(graphFile), ...location.split('/'))]);
  }
  return out;
}

/** Write the new version's files into `dir`: the quantised graph (in a worker) and, for a folder, the rest. */
async function writeQuantized(
  registry: Registry,
  v: VersionRecord,
  req: QuantizeRequest,
  dir: string,
): Promise<Output> {
  const files = folderFiles(v);
  const graphPath = typeof v.metadata.graph === 'string' && files.length > 0 ? v.metadata.graph : null;
  const graphFile = await registry.modelPath(v);
  const run = async (job: Omit<QuantizeJob, 'graph' | 'to' | 'keepHead'>) => {
    try {
      return await quantizeInWorker({ ...job, graph: graphFile, to: req.to, keepHead: req.keepHead });
    } catch (e) {
      throw toCatalogError(e);
    }
  };
  if (!graphPath) {
    const report = await run({ external: [], out: join(dir, 'model.onnx') });
    return { graph: 'model.onnx', folder: false, report };
  }
  const external = await externalFiles(graphFile, graphPath, v);
  const genai = v.metadata.layout === 'onnxruntime-genai';
  const target = genai
    ? graphPath
    : posix.join(posix.dirname(graphPath), `model_${targets[req.to].variant}.onnx`);
  const dataName = `${posix.basename(target)}_data`;
  const at = (path: string) => join(dir, ...path.split('/'));
  await mkdir(dirname(at(target)), { recursive: true });
  const report = await run({
    external,
    out: at(target),
    outData:
      external.length > 0
        ? { path: at(posix.join(posix.dirname(target), dataName)), location: dataName }
        : undefined,
  });
  const dropped = new Set([
    graphPath,
    ...external.map(([l]) => posix.normalize(posix.join(posix.dirname(graphPath), l))),
  ]);
  for (const f of files) {
    if (dropped.has(f.path)) continue;
    await mkdir(dirname(at(f.path)), { recursive: true });
    await copyFile(registry.artifactPath(f.digest), at(f.path));
  }
  return { graph: target, folder: true, report };
}

/** The version's tokenizer, when its family's runtime has one. */
async function tokenizerOf(registry: Registry, v: VersionRecord): Promise<TokenInspector | undefined> {
  const family = v.metadata.family;
  const factory = typeof family === 'string' ? runtimeFor(family) : undefined;
  if (!factory) return undefined;
  const ctx: RuntimeContext = {
    run: () => fail('internal', 'the tokenizer probe does not run the model'),
    metadata: v.metadata,
    readFile: folderFiles(v).length > 0 ? (path) => registry.readFolderFile(v, path) : undefined,
  };
  const runtime = await factory(ctx);
  return runtime.task === 'text-generation' ? runtime.tokenizer : undefined;
}

async function measure(registry: Registry, v: VersionRecord, quantPath: string): Promise<QualityReport> {
  const family = String(v.metadata.family ?? '');
  const float = await EngineSession.create(await registry.modelPath(v));
  try {
    const quant = await EngineSession.create(quantPath);
    try {
      const context = Number(v.metadata.context) || 64;
      return await compareQuality(float, quant, {
        tokenizer: await tokenizerOf(registry, v),
        context,
        heldOut: CORPUS_FAMILIES.has(family) ? splitProse(await loadProse()).validation : undefined,
      });
    } finally {
      await quant.release();
    }
  } finally {
    await float.release();
  }
}

/** Every file under `dir` as [folder path, bytes] (the new folder version, to pack). */
async function folderEntries(dir: string): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = relative(dir, join(e.parentPath, e.name)).split(sep).join('/');
    out.push([path, new Uint8Array(await readFile(join(dir, path)))]);
  }
  return out;
}

/** Metadata a single-file version passes on: all but what the upload records anew. */
function inherited(v: VersionRecord): Record<string, unknown> {
  const { producer: _p, opsets: _o, lineage, quality: _q, quantization: _z, ...rest } = v.metadata;
  // A training job's id stays with the version that job made (a retry looks for it there).
  const { job: _j, ...kept } = (lineage ?? {}) as Record<string, unknown>;
  return { ...rest, lineage: kept };
}

export async function quantizeVersion(
  registry: Registry,
  owner: string,
  name: string,
  ref: string,
  req: QuantizeRequest,
): Promise<QuantizeOutcome> {
  const v = await registry.resolve(owner, name, ref);
  const dir = await registry.tempFolder();
  try {
    const output = await writeQuantized(registry, v, req, dir);
    const report = output.report;
    const quality = await measure(registry, v, join(dir, ...output.graph.split('/')));
    const from = { version: v.version, digest: v.digest };
    const recorded = {
      // The name a folder's variant gets (src/models/hf/layout.ts), for single files too.
      quantization: quantizationOf(targets[req.to].variant),
      quantizedTo: req.to,
      keepHead: req.keepHead,
      quantizationReport: report,
      quality,
    };
    const version = output.folder
      ? await registry.upload(owner, name, Readable.from([await packTarGz(await folderEntries(dir))]), {
          variant: v.metadata.layout === 'onnxruntime-genai' ? undefined : targets[req.to].variant,
          metadata: { ...recorded, lineage: { quantized_from: from } },
        })
      : await registry.upload(owner, name, createReadStream(join(dir, output.graph)), {
          metadata: {
            ...inherited(v),
            ...recorded,
            lineage: { ...(inherited(v).lineage as object), quantized_from: from },
          },
        });
    return { version, quantization: report, quality };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
