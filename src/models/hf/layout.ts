/**
 * Which graph of a Hugging Face-layout model folder to serve, by the published layouts:
 *
 *   optimum / transformers.js   onnx/model.onnx or model.onnx, quantised siblings beside it
 *                               (model_quantized.onnx, model_int8.onnx, model_q4.onnx, …), or the
 *                               legacy decoder_model_merged.onnx (one `If` on use_cache_branch)
 *   onnxruntime-genai           genai_config.json names the graph (model.decoder.filename)
 *
 * A variant is chosen at upload (`?variant=q4`); without one the full-precision graph is served,
 * or, when the folder has none, the first present of VARIANT_PREFERENCE.
 */
import { fail } from '../../common/errors';

export type FolderLayout = 'optimum' | 'onnxruntime-genai';

export interface GraphChoice {
  layout: FolderLayout;
  /** Folder path of the graph, e.g. `onnx/model_q4.onnx`. */
  graph: string;
  /** `default` for the full-precision graph, else the file's suffix (`q4`, `quantized`, …). */
  variant: string;
}

/** Without `?variant`, the first of these the folder holds (`default`: model.onnx itself). */
export const VARIANT_PREFERENCE = ['default', 'quantized', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16', 'fp16'];

/** The stems of the one-graph decoders of the published layouts, newest first. */
const STEMS = ['model', 'decoder_model_merged'];
const FOLDERS = ['onnx/', ''];

/** `variant → graph path` of every candidate graph in `paths`. */
function candidates(paths: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  for (const folder of FOLDERS) {
    for (const stem of STEMS) {
      for (const path of paths) {
        if (!path.startsWith(folder) || !path.endsWith('.onnx')) continue;
        const name = path.slice(folder.length, -'.onnx'.length);
        if (name.includes('/')) continue;
        const variant =
          name === stem ? 'default' : name.startsWith(`${stem}_`) ? name.slice(stem.length + 1) : null;
        if (variant !== null && !found.has(variant)) found.set(variant, path);
      }
    }
  }
  return found;
}

/** The genai graph's folder path from `genai_config.json` (`model.decoder.filename`). */
function genaiGraph(config: unknown, paths: ReadonlySet<string>): string {
  const filename = (config as { model?: { decoder?: { filename?: unknown } } })?.model?.decoder?.filename;
  if (typeof filename !== 'string' || filename.length === 0)
    fail('invalid_model', 'genai_config.json: model.decoder.filename must name the decoder graph');
  const path = filename.replace(/^\.\//, '');
  if (!paths.has(path))
    fail('invalid_model', `genai_config.json names the graph '${filename.slice(0, 120)}', which is missing`);
  return path;
}

/**
 * Choose the graph of a folder holding `paths`. `genaiConfig`: the parsed genai_config.json when
 * the folder has one. An unknown variant → 400 listing those the folder has.
 */
export function chooseGraph(
  paths: ReadonlySet<string>,
  variant: string | undefined,
  genaiConfig?: unknown,
): GraphChoice {
  if (genaiConfig !== undefined) {
    return {
      layout: 'onnxruntime-genai',
      graph: genaiGraph(genaiConfig, paths),
      variant: variant ?? 'default',
    };
  }
  const found = candidates(paths);
  if (found.size === 0) {
    fail(
      'invalid_model',
      'the folder has no decoder graph: expected onnx/model.onnx, model.onnx, a quantised sibling (model_q4.onnx, …) or decoder_model_merged.onnx',
    );
  }
  const available = [...found.keys()];
  if (variant !== undefined) {
    const graph = found.get(variant);
    if (!graph)
      fail(
        'invalid_request',
        `variant '${variant.slice(0, 40)}' is not in the folder; it has: ${available.join(', ')}`,
        {
          pointer: 'variant',
        },
      );
    return { layout: 'optimum', graph, variant };
  }
  const preferred = VARIANT_PREFERENCE.find((v) => found.has(v)) ?? available[0];
  return { layout: 'optimum', graph: found.get(preferred)!, variant: preferred };
}

/** Quantisation a variant name stands for (what the exporters call them). */
export function quantizationOf(variant: string): string {
  const names: Record<string, string> = {
    default: 'none',
    fp32: 'none',
    fp16: 'float16',
    quantized: 'int8 (dynamic)',
    int8: 'int8',
    uint8: 'uint8',
    q4: 'int4 (MatMulNBits)',
    q4f16: 'int4 (MatMulNBits), float16',
    bnb4: 'int4 (bnb4)',
  };
  return names[variant] ?? variant;
}

/** The folder's files that serve `graph`: the other graphs, and external data named after them, left out. */
export function keptPaths(paths: readonly string[], graph: string): string[] {
  const others = paths.filter((p) => p.endsWith('.onnx') && p !== graph);
  const dropped = new Set(others.flatMap((p) => [p, `${p}_data`, `${p}.data`]));
  return paths.filter((p) => !dropped.has(p));
}
