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
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, posix } from 'node:path';
import { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { packTarGz } from '../../data/formats/tar-pack';
import {
  decodeModel,
  EngineSession,
  type QuantizeReport,
  type QuantizeTarget,
  quantizeModel,
} from '../../engine/index';
import { toCatalogError } from '../../models/common/engine-errors';
import { quantizationOf } from '../../models/hf/index';
import { loadProse, splitProse } from '../../models/language/index';
import { compareQuality, type QualityReport } from '../../models/quantize/quality';
import { runtimeFor } from '../../models/runtimes';
import type { RuntimeContext, TokenInspector } from '../../models/task';
import type { VersionRecord } from '../../store/ports';
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
  /** Folder-relative path → bytes, every file of the new version. */
  files: [string, Uint8Array][];
  graph: string;
  /** A folder version (else one ONNX file). */
  folder: boolean;
}

/** The external data files a graph names, read from its folder (paths checked at upload). */
async function externalFiles(graph: Uint8Array, graphPath: string, v: VersionRecord, registry: Registry) {
  const out = new Map<string, Uint8Array>();
  for (const location of decodeModel(graph).externalLocations) {
    const path = posix.normalize(posix.join(posix.dirname(graphPath), location));
    const bytes = await registry.readFolderFile(v, path);
    if (!bytes)
      fail('invalid_model', `external data '${location}' of ${graphPath} is not in the version's folder`);
    out.set(location, bytes);
  }
  return out;
}

async function quantizedFiles(
  registry: Registry,
  v: VersionRecord,
  req: QuantizeRequest,
): Promise<{ output: Output; report: QuantizeReport }> {
  const files = folderFiles(v);
  const graphPath = typeof v.metadata.graph === 'string' && files.length > 0 ? v.metadata.graph : null;
  const graph = new Uint8Array(await readFile(await registry.modelPath(v)));
  try {
    if (!graphPath) {
      const q = quantizeModel(graph, { to: req.to, keepHead: req.keepHead });
      return {
        output: { files: [['model.onnx', q.model]], graph: 'model.onnx', folder: false },
        report: q.report,
      };
    }
    const external = await externalFiles(graph, graphPath, v, registry);
    const genai = v.metadata.layout === 'onnxruntime-genai';
    const target = genai
      ? graphPath
      : posix.join(posix.dirname(graphPath), `model_${targets[req.to].variant}.onnx`);
    const dataName = `${posix.basename(target)}_data`;
    const q = quantizeModel(graph, {
      to: req.to,
      keepHead: req.keepHead,
      external,
      externalLocation: external.size > 0 ? dataName : undefined,
    });
    const dropped = new Set([
      graphPath,
      ...[...external.keys()].map((l) => posix.join(posix.dirname(graphPath), l)),
    ]);
    const out: [string, Uint8Array][] = [];
    for (const f of files) {
      if (dropped.has(f.path)) continue;
      out.push([f.path, (await registry.readFolderFile(v, f.path))!]);
    }
    out.push([target, q.model]);
    if (q.externalData) out.push([posix.join(posix.dirname(target), dataName), q.externalData]);
    return { output: { files: out, graph: target, folder: true }, report: q.report };
  } catch (e) {
    throw toCatalogError(e);
  }
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
  const { output, report } = await quantizedFiles(registry, v, req);
  const dir = await registry.tempFolder();
  try {
    for (const [path, bytes] of output.files) {
      const at = join(dir, normalize(path));
      await mkdir(dirname(at), { recursive: true });
      await writeFile(at, bytes);
    }
    const quality = await measure(registry, v, join(dir, output.graph));
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
      ? await registry.upload(owner, name, Readable.from([await packTarGz(output.files)]), {
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
