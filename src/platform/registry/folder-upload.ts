/**
 * Uploading a model folder: a .tar.gz, .tar or .zip (recognised by its bytes) of a Hugging
 * Face-layout folder (see src/models/hf). The archive is unpacked into a private temp folder with
 * every check of src/data/formats/archive.ts (traversal, links, entry count, sizes, ratio); one
 * top-level folder (`tar -czf m.tgz my-model/`) is stripped. Then:
 *
 *   1. the graph is chosen (`?variant=`), the other graphs of the folder and their external data
 *      are left out (they are never stored, so never loaded);
 *   2. the text files load as the runtime will load them (tokenizer, template, JSON files): a
 *      missing or broken one → 400 naming the file; the template is tried on one user message;
 *   3. the graph is checked in the child process like any upload, its external data allowed only
 *      from the folder's own files;
 *   4. every kept file is stored content-addressed; the version's metadata lists them
 *      (`files: [{path, digest, sizeBytes}]`) beside what the folder says about the model.
 *
 * Storage: one artifact per file (same bytes stored once across versions); the version's own
 * digest is its graph's. Serving loads the graph from a folder view of hard links (artifacts.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fail, isMaasError } from '../../common/errors';
import { type ArchiveFormat, archiveEntries } from '../../data/formats/archive';
import type { DataLimits } from '../../data/limits';
import {
  chooseGraph,
  describeConfig,
  HF_DECODER_FAMILY,
  HF_ENCODER_FAMILY,
  isEncoderGraph,
  keptPaths,
  loadTextAssets,
  planDecoder,
  planEncoder,
  quantizationOf,
  type ReadFolderFile,
  readJson,
  readPooling,
  type TextAssets,
} from '../../models/hf/index';
import type { ModelSignature } from '../../store/ports';
import type { ArtifactStore, StagedArtifact } from '../artifacts/artifacts';
import { trainability, type ValidatedModel, type ValidationLimits, validateModelFile } from './validate';

export interface FolderFile {
  path: string;
  digest: string;
  sizeBytes: number;
}

export interface StagedFolder {
  /** The graph's staged file: the version's digest. */
  graph: FolderFile;
  files: FolderFile[];
  staged: StagedArtifact[];
  sizeBytes: number;
  signature: ModelSignature;
  metadata: Record<string, unknown>;
}

export interface FolderUploadDeps {
  artifacts: ArtifactStore;
  validation: ValidationLimits;
  /** Runs the child-process check under the registry's concurrency limit. */
  limited: <T>(fn: () => Promise<T>) => Promise<T>;
  archiveLimits: DataLimits;
}

/** Re-word the archive reader's dataset errors for a model upload (same message, 400). */
function asModelError(e: unknown): never {
  if (isMaasError(e) && e.code === 'invalid_dataset') fail('invalid_model', `archive ${e.message}`);
  throw e;
}

/** Unpack into `dir`; returns the folder paths of the files, with one top-level folder stripped. */
async function unpack(archive: string, format: ArchiveFormat, dir: string, limits: DataLimits) {
  const names: string[] = [];
  try {
    for await (const entry of archiveEntries(archive, format, limits)) {
      if (entry.name === '' || entry.name.endsWith('/')) continue;
      const at = join(dir, entry.name);
      await mkdir(dirname(at), { recursive: true, mode: 0o700 });
      await writeFile(at, entry.data, { flag: 'wx', mode: 0o600 }).catch((e: NodeJS.ErrnoException) =>
        fail(
          'invalid_model',
          `archive entry ${JSON.stringify(entry.name.slice(0, 200))}: ${e.code === 'EEXIST' ? 'appears twice' : 'cannot be unpacked (a file and a folder of the same name?)'}`,
        ),
      );
      names.push(entry.name);
    }
  } catch (e) {
    asModelError(e);
  }
  if (names.length === 0) fail('invalid_model', 'the archive holds no files');
  const tops = new Set(names.map((n) => (n.includes('/') ? n.slice(0, n.indexOf('/')) : '')));
  const [top] = tops;
  const strip = tops.size === 1 && top !== '' ? `${top}/` : '';
  return { root: strip ? join(dir, top) : dir, paths: names.map((n) => n.slice(strip.length)) };
}

/** A template that fails on one plain user message would fail every chat: refuse it now. */
function tryTemplate(assets: TextAssets): void {
  try {
    assets.template?.render([{ role: 'user', content: 'Hello' }], { addGenerationPrompt: true });
  } catch (e) {
    const cause = isMaasError(e) ? e.message : String(e);
    fail('invalid_model', `${assets.templateFile}: ${cause}`);
  }
}

/** Count of parameters and the element types that hold them, from the child's report. */
function weightsOf(checked: ValidatedModel) {
  return { parameters: checked.parameters ?? null, weightTypes: checked.weightTypes ?? {} };
}

/** `model_max_length` of tokenizer_config.json (absent or transformers' 1e30 "no limit": null). */
function tokenizerMaxLength(config: Record<string, unknown> | null): number | null {
  const max = config?.model_max_length;
  return typeof max === 'number' && Number.isInteger(max) && max > 0 && max < 1e9 ? max : null;
}

/**
 * An encoder's longest input: config.json's position count, or the tokenizer's
 * `model_max_length` when that is smaller (BERT-style models declare 512 in both).
 */
function encoderContext(encoder: boolean, fromConfig: number | null, tokenizerMax: number | null) {
  if (!encoder || tokenizerMax === null) return fromConfig;
  return fromConfig === null ? tokenizerMax : Math.min(fromConfig, tokenizerMax);
}

export async function stageFolder(
  archive: string,
  format: ArchiveFormat,
  variant: string | undefined,
  deps: FolderUploadDeps,
): Promise<StagedFolder> {
  const dir = await deps.artifacts.tempFolder();
  const staged: StagedArtifact[] = [];
  try {
    const { root, paths } = await unpack(archive, format, dir, deps.archiveLimits);
    const present = new Set(paths);
    const read: ReadFolderFile = async (path) =>
      present.has(path) ? new Uint8Array(await readFile(join(root, path))) : null;
    const genai = await readJson(read, 'genai_config.json');
    const choice = chooseGraph(present, variant, genai ?? undefined);
    const kept = keptPaths(paths, choice.graph);
    const keptSet = new Set(kept);
    const readKept: ReadFolderFile = (path) => (keptSet.has(path) ? read(path) : Promise.resolve(null));
    const assets = await loadTextAssets(readKept);
    tryTemplate(assets);
    for (const path of paths.filter((p) => !keptSet.has(p))) await rm(join(root, path));
    const checked = await deps
      .limited(() => validateModelFile(join(root, choice.graph), deps.validation, root))
      .catch((e: unknown) => {
        if (isMaasError(e)) fail(e.code, `${choice.graph}: ${e.message}`);
        throw e;
      });
    const config = await readJson(readKept, 'config.json');
    const described = describeConfig(config, genai);
    const { inputs, outputs } = checked.signature;
    const encoder = isEncoderGraph(inputs, outputs);
    const model = encoder
      ? {
          family: HF_ENCODER_FAMILY,
          task: 'embeddings',
          kind: 'text-embedding',
          encoder: planEncoder(inputs, outputs, config, await readPooling(readKept)),
        }
      : {
          family: HF_DECODER_FAMILY,
          task: 'text-generation',
          kind: 'decoder-lm',
          eosTokenIds: assets.eosIds,
          chatTemplate: assets.template !== null,
          decoder: planDecoder(inputs, outputs, config, genai),
        };
    const context =
      encoderContext(
        encoder,
        described.context,
        tokenizerMaxLength(await readJson(readKept, 'tokenizer_config.json')),
      ) ?? fail('invalid_model', 'config.json states no context length (max_position_embeddings)');
    const files: FolderFile[] = [];
    for (const path of kept) {
      // Moved, not copied: the unpacked file lies in the store's own temp folder.
      const s = await deps.artifacts.stageFile(join(root, path));
      staged.push(s);
      files.push({ path, digest: s.digest, sizeBytes: s.sizeBytes });
    }
    const graph = files.find((f) => f.path === choice.graph)!;
    const sizeBytes = files.reduce((n, f) => n + f.sizeBytes, 0);
    const weights = weightsOf(checked);
    return {
      graph,
      files,
      staged,
      sizeBytes,
      signature: checked.signature,
      metadata: {
        ...model,
        layout: choice.layout,
        architecture: described.architecture,
        context,
        vocabSize: described.vocabSize ?? assets.tokenizer.vocabSize,
        parameters: weights.parameters,
        dtype: 'float32',
        variant: choice.variant,
        quantization: quantizationOf(choice.variant),
        weightTypes: weights.weightTypes,
        graph: choice.graph,
        producer: checked.producer,
        opsets: checked.opsets,
        ...trainability(checked.missingOps),
        files,
      },
    };
  } catch (e) {
    for (const s of staged) await deps.artifacts.discard(s);
    throw e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
