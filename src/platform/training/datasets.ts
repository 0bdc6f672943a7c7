/**
 * Datasets as a service: uploads streamed into a content-addressed folder of their own
 * (`<data>/datasets/artifacts`, so the model registry's orphan sweep never sees them), described
 * once (`describeDataset`: format from content, schema, rows, class balance, preview) before they
 * are kept, and built-in public datasets listed and usable by name beside them.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { parseName } from '../../common/names';
import {
  type DataLimits,
  type DatasetDescription,
  type DatasetSource,
  describeDataset,
  listBuiltins,
} from '../../data/index';
import type { Store } from '../../store/ports';
import type { DatasetKind, DatasetRecord } from '../../store/training-ports';
import type { ArtifactStore, StagedArtifact } from '../artifacts/artifacts';
import type { DescribePool } from './describe-pool';

/** A dataset as the API shows it: an upload or a built-in. */
export interface DatasetView {
  name: string;
  builtin: boolean;
  kind: DatasetKind;
  format: string;
  digest: string | null;
  sizeBytes: number | null;
  description?: string;
  rows?: number;
  /** The client's file name, when it was uploaded as a file (OpenAI's /v1/files). */
  filename?: string;
  createdAt: string | null;
}

/** What a trainer needs to read a dataset. */
export interface ResolvedDataset {
  name: string;
  kind: DatasetKind;
  source: DatasetSource;
  digest: string | null;
  format: string;
  /** Column names of an upload (null for built-ins, which know their target). */
  columns: string[] | null;
}

const builtinKinds: Record<string, DatasetKind> = {
  tabular: 'tabular',
  image: 'image',
  'text-classification': 'text',
  'language-model': 'corpus',
};

/** What a described dataset can train: images → image, a bare corpus → corpus, free text → text. */
export function kindOf(d: DatasetDescription): DatasetKind {
  if (d.schema.some((c) => c.kind === 'image')) return 'image';
  if (d.format === 'text') return 'corpus';
  // OpenAI fine-tuning files are {text, label} by construction, even when the texts are few.
  if (d.format === 'openai-finetune') return 'text';
  if (d.schema.some((c) => c.kind === 'text' && !c.target)) return 'text';
  return 'tabular';
}

export class DatasetService {
  private readonly builtinCache = new Map<string, Promise<DatasetDescription>>();

  constructor(
    private readonly store: Store,
    private readonly files: ArtifactStore,
    private readonly maxBytes: number,
    /** Uploads are described off the event loop, under the readers' budgets. */
    private readonly parser: DescribePool,
    private readonly limits: Partial<DataLimits> = {},
  ) {}

  close(): Promise<void> {
    return this.parser.close();
  }

  /** Housekeeping: drop dataset files no row references, older than `graceMs` (see ArtifactStore). */
  async collectOrphans(graceMs = 0): Promise<string[]> {
    return this.files.collectOrphans(await this.store.datasets.referencedDigests(), graceMs);
  }

  /**
   * `filename`: the client's name for the file (OpenAI's file uploads), kept for display only.
   * `raw`: keep the bytes undescribed under this format (OpenAI batch input and output files,
   * which are requests, not training data).
   */
  /**
   * Stages an upload's bytes before the caller knows what they are (OpenAI's form sends the file
   * before its purpose); `upload` then takes the staged file, `release` drops it.
   */
  hold(body: Readable): Promise<StagedArtifact> {
    return this.files.stage(body, this.maxBytes);
  }

  release(staged: StagedArtifact): Promise<void> {
    return this.files.discard(staged);
  }

  async upload(
    owner: string,
    name: string,
    body: Readable | StagedArtifact,
    declaredBytes?: number,
    options: { filename?: string; raw?: 'batch' | 'batch_output' } = {},
  ): Promise<DatasetRecord> {
    parseName(name, 'dataset');
    if (listBuiltins().some((b) => b.name === name))
      fail('conflict', `'${name}' is a built-in dataset; choose another name`);
    if (declaredBytes !== undefined && declaredBytes > this.maxBytes)
      fail('payload_too_large', `datasets are limited to ${this.maxBytes} bytes`);
    const held = body instanceof Readable ? null : body;
    let staged: StagedArtifact | null = held;
    let committed = false;
    try {
      if (await this.store.datasets.get(owner, name)) fail('conflict', `dataset '${name}' already exists`);
      staged ??= await this.files.stage(body as Readable, this.maxBytes);
      if (staged.sizeBytes === 0)
        fail('invalid_dataset', 'the body is empty: send the dataset file as the body');
      // Inflated bytes count against the same cap as the upload itself.
      const description: DatasetDescription = options.raw
        ? { format: options.raw, schema: [], rows: 0, preview: [] }
        : await this.parser.describe(staged.tempPath, {
            previewRows: 5,
            limits: { maxInflatedBytes: this.maxBytes, ...this.limits },
          });
      await this.files.commit(staged);
      committed = true;
      return await this.store.datasets.create({
        owner,
        name,
        digest: staged.digest,
        sizeBytes: staged.sizeBytes,
        format: description.format,
        kind: kindOf(description),
        description: {
          ...(description as unknown as Record<string, unknown>),
          ...(options.filename !== undefined ? { filename: options.filename } : {}),
        },
      });
    } catch (e) {
      if (!staged) throw e;
      if (!committed) await this.files.discard(staged);
      else if (!(await this.store.datasets.referencedDigests()).has(staged.digest))
        await this.files.remove(staged.digest);
      throw e;
    }
  }

  async list(owner: string): Promise<DatasetView[]> {
    const builtins: DatasetView[] = listBuiltins()
      .filter((b) => b.available())
      .map((b) => ({
        name: b.name,
        builtin: true,
        kind: builtinKinds[b.task],
        format: 'builtin',
        digest: null,
        sizeBytes: null,
        description: b.description,
        createdAt: null,
      }));
    const own = (await this.store.datasets.list(owner)).map(
      (d): DatasetView => ({
        name: d.name,
        builtin: false,
        kind: d.kind,
        format: d.format,
        digest: d.digest,
        sizeBytes: d.sizeBytes,
        rows: Number(d.description.rows),
        ...(typeof d.description.filename === 'string' ? { filename: d.description.filename } : {}),
        createdAt: d.createdAt,
      }),
    );
    return [...own, ...builtins];
  }

  /** One dataset with its schema, rows, class balance and preview. */
  async get(owner: string, name: string): Promise<DatasetView & Record<string, unknown>> {
    parseName(name, 'dataset');
    const own = await this.store.datasets.get(owner, name);
    if (own) {
      const { owner: _o, description, ...rest } = own;
      return { ...rest, builtin: false, ...description } as DatasetView & Record<string, unknown>;
    }
    const b = listBuiltins().find((x) => x.name === name && x.available());
    if (!b) fail('not_found', `dataset '${name}' not found`);
    let described = this.builtinCache.get(name);
    if (!described) {
      described = describeDataset({ builtin: name }, { previewRows: 3 });
      this.builtinCache.set(name, described);
      described.catch(() => this.builtinCache.delete(name));
    }
    return {
      name,
      builtin: true,
      kind: builtinKinds[b.task],
      digest: null,
      sizeBytes: null,
      description: b.description,
      createdAt: null,
      ...(await described),
      format: 'builtin',
    };
  }

  async delete(owner: string, name: string): Promise<void> {
    parseName(name, 'dataset');
    const removed = await this.store.datasets.delete(owner, name);
    if (!removed) {
      if (listBuiltins().some((b) => b.name === name))
        fail('invalid_request', 'built-in datasets cannot be deleted');
      fail('not_found', `dataset '${name}' not found`);
    }
    if (!(await this.store.datasets.referencedDigests()).has(removed.digest))
      await this.files.remove(removed.digest);
  }

  /** The bytes of an uploaded dataset, as they were uploaded (built-ins have no file). */
  async open(owner: string, name: string): Promise<{ stream: Readable; sizeBytes: number }> {
    parseName(name, 'dataset');
    const own = await this.store.datasets.get(owner, name);
    if (!own) fail('not_found', `dataset '${name}' not found`);
    return { stream: createReadStream(await this.files.local(own.digest)), sizeBytes: own.sizeBytes };
  }

  /** The owner's dataset of that name, else the built-in; `not_found` otherwise. */
  async resolve(owner: string, name: string): Promise<ResolvedDataset> {
    parseName(name, 'dataset');
    const own = await this.store.datasets.get(owner, name);
    if (own)
      return {
        name,
        kind: own.kind,
        source: { path: await this.files.local(own.digest) },
        digest: own.digest,
        format: own.format,
        columns: ((own.description.schema ?? []) as { name: string }[]).map((c) => c.name),
      };
    const b = listBuiltins().find((x) => x.name === name && x.available());
    if (!b) fail('not_found', `dataset '${name}' not found`, { pointer: 'dataset' });
    return {
      name,
      kind: builtinKinds[b.task],
      source: { builtin: name },
      digest: null,
      format: 'builtin',
      columns: null,
    };
  }
}
