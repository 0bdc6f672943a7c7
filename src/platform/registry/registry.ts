/**
 * The model registry: models, immutable versions (file + signature + metadata), aliases. Uploads
 * are staged (hashed to a temp file), checked in a child process, then committed and recorded in
 * one store transaction; a refused or failed upload leaves no row and no file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { parseName } from '../../common/names';
import { didYouMean } from '../../common/suggest';
import { type ArchiveFormat, archiveFormat } from '../../data/formats/archive';
import { readHead } from '../../data/formats/source';
import { type DataLimits, dataLimits } from '../../data/limits';
import type { Bus } from '../../store/bus';
import {
  LATEST_ALIAS,
  type ModelPatch,
  type ModelRecord,
  type ServingSettings,
  type Store,
  type VersionRecord,
} from '../../store/ports';
import type { ArtifactStore } from '../artifacts/artifacts';
import { type FolderFile, stageFolder } from './folder-upload';
import { ModelLookupCache } from './lookup-cache';
import { trainability, type ValidationLimits, validateModelFile } from './validate';

export interface RegistryLimits {
  maxUploadBytes: number;
  validation: ValidationLimits;
  /** Limits of an uploaded model folder's archive; default: files up to maxUploadBytes each. */
  archive?: DataLimits;
}

export interface RegistrySharing {
  /**
   * Tells every process of the deployment that a version was removed (each drops it from its
   * version cache and unloads it); the local bus when this process is the only one.
   */
  bus: Bus;
  /**
   * Keep parsed version records in memory. Exact only while every writer's removals reach this
   * process: one process, or a shared bus. Several processes on one database without Redis turn
   * it off (every call reads the store).
   */
  cacheVersions: boolean;
}

export interface UploadOptions {
  task?: string | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
  serving?: ServingSettings;
  /** Which graph of an uploaded folder to serve (`q4`, `quantized`, …); see src/models/hf/layout.ts. */
  variant?: string;
  /** The training job it is the result of: at most one version per job (`conflict` otherwise). */
  job?: string;
}

/** The files an uploaded folder version holds (`metadata.files`); empty for a single file. */
export function folderFiles(v: VersionRecord): FolderFile[] {
  const files = v.metadata.files;
  return Array.isArray(files) ? (files as FolderFile[]) : [];
}

export interface ModelDetail extends ModelRecord {
  versions: VersionRecord[];
  aliases: Record<string, number>;
}

/** Called after a version is removed, so serving can unload it. */
export type VersionListener = (v: VersionRecord) => void;

/**
 * Asked when a model does not exist: an error that says why better than 404 (a zoo model still
 * training → 503 with Retry-After), or null for the plain 404.
 */
export type MissingModelExplainer = (owner: string, name: string) => Error | null | Promise<Error | null>;

/**
 * Model checks running at once. Each is a child process loading a model with ORT; more than the
 * machine's 2 cores only makes every upload slower (and a flood of uploads a memory risk).
 */
const MAX_CONCURRENT_CHECKS = 2;

/**
 * Parsed version records kept in memory. A record is immutable until its version is deleted, and
 * parsing one costs ~0.3-1 ms when its metadata carries a vocabulary (word2vec's 3,000 words: 27 KB
 * of JSON), which every served call (every generated token) used to pay in `resolve`.
 */
const VERSION_CACHE_ENTRIES = 256;

/** What the bus carries on `version-removed`. */
interface RemovalMessage {
  origin: string;
  version: VersionRecord;
}

/** How long a cached alias or model row is trusted when no change was announced (ms). */
const LOOKUP_TTL_MS = 5_000;

export class Registry {
  private readonly listeners: VersionListener[] = [];
  private explainers: MissingModelExplainer[] = [];
  private checksRunning = 0;
  private readonly checkWaiters: (() => void)[] = [];
  /** `owner\0model\0version` → record, least recently used first (Map order). */
  private readonly versions = new Map<string, VersionRecord>();
  /** Bumped on every removal: a read that straddles one is not cached (it may be stale). */
  private removals = 0;

  private readonly sharing: RegistrySharing | null;
  /** Tells this process's own removal messages apart from other processes' (a bus echoes them). */
  private readonly origin = randomUUID();
  /** Alias → version and model rows, the per-request reads (lookup-cache.ts). */
  private readonly lookups: ModelLookupCache;

  /** Without `sharing`: one process, cache on, removals told to this process's listeners only. */
  constructor(
    private readonly store: Store,
    private readonly artifacts: ArtifactStore,
    private readonly limits: RegistryLimits,
    sharing?: RegistrySharing,
  ) {
    this.sharing = sharing ?? null;
    sharing?.bus.subscribe('version-removed', (message) => this.removedElsewhere(message));
    this.lookups = new ModelLookupCache({
      enabled: sharing?.cacheVersions !== false,
      ttlMs: LOOKUP_TTL_MS,
      maxEntries: VERSION_CACHE_ENTRIES,
      bus: sharing?.bus,
    });
  }

  /** Another process removed a version: forget and unload it. */
  private removedElsewhere(message: string): void {
    let parsed: RemovalMessage;
    try {
      parsed = JSON.parse(message) as RemovalMessage;
    } catch {
      return;
    }
    if (parsed?.origin === this.origin) return;
    const v = parsed?.version;
    if (typeof v?.owner !== 'string' || typeof v.model !== 'string' || !Number.isInteger(v.version)) return;
    this.removals++;
    this.versions.delete(versionCacheKey(v));
    for (const l of this.listeners) l(v);
  }

  onVersionRemoved(listener: VersionListener): void {
    this.listeners.push(listener);
  }

  /** Register an explainer of missing models (every lookup that would answer 404 asks it). */
  explainMissing(explainer: MissingModelExplainer): void {
    this.explainers.push(explainer);
  }

  private async missing(owner: string, name: string, detail: string): Promise<never> {
    for (const explain of this.explainers) {
      const e = await explain(owner, name);
      if (e) throw e;
    }
    // The pointer says what is missing: the model itself (OpenAI's surface answers model_not_found).
    fail('not_found', detail, { pointer: 'model' });
  }

  /**
   * "model 'fruitt' not found (did you mean 'fruit'?)": the same words on every surface, with
   * the closest names `owner` may call (its own, and others' public ones as `owner~name`; a bare
   * `gptt` finds `zoo~gpt`). A call for another tenant's model reaches here only with an admin
   * key or when that model is public (model-ref.ts), so no private name leaks.
   */
  private async notFound(owner: string, name: string): Promise<never> {
    const callable = new Map<string, string>();
    try {
      for (const m of await this.store.models.listModels(owner)) callable.set(m.name, m.name);
      for (const m of await this.store.models.listPublicModels(owner)) {
        const id = `${m.owner}~${m.name}`;
        callable.set(id, id);
        if (!callable.has(m.name)) callable.set(m.name, id);
      }
    } catch {
      // The answer is "not found" all the same; suggestions are a courtesy.
    }
    const close = didYouMean(name, callable.keys());
    const shown = close
      ? ` (${close.replace(/'([^']+)'/g, (_, k: string) => `'${callable.get(k) ?? k}'`)})`
      : '';
    return this.missing(owner, name, `model '${name}' not found${shown}`);
  }

  /** Start-up reconciliation: drop artifact files no version references (crash leftovers). */
  async collectOrphans(graceMs = 0): Promise<string[]> {
    return this.artifacts.collectOrphans(await this.store.models.referencedDigests(), graceMs);
  }

  async upload(
    owner: string,
    name: string,
    body: Readable,
    options: UploadOptions = {},
  ): Promise<VersionRecord> {
    parseName(name, 'model');
    const staged = await this.artifacts.stage(body, this.limits.maxUploadBytes);
    let committed = false;
    try {
      if (staged.sizeBytes === 0)
        fail('invalid_model', 'the body is empty: send the ONNX file as the request body');
      const format = archiveFormat(await readHead(staged.tempPath, 512));
      if (format) {
        // Nothing of the archive itself is kept: its files are (the catch below discards it).
        const version = await this.uploadFolder(owner, name, staged.tempPath, format, options);
        await this.artifacts.discard(staged);
        return version;
      }
      if (options.variant !== undefined)
        fail(
          'invalid_request',
          'variant applies to an uploaded model folder (an archive), not to one ONNX file',
          {
            pointer: 'variant',
          },
        );
      const checked = await this.limited(() => validateModelFile(staged.tempPath, this.limits.validation));
      await this.artifacts.commit(staged);
      committed = true;
      const serving = options.serving ?? {};
      return await this.changing(
        this.store.models.addVersion(
          {
            owner,
            model: name,
            digest: staged.digest,
            sizeBytes: staged.sizeBytes,
            signature: checked.signature,
            metadata: {
              ...(options.metadata ?? {}),
              producer: checked.producer,
              opsets: checked.opsets,
              ...trainability(checked.missingOps),
            },
            job: options.job,
          },
          { owner, name, task: options.task, description: options.description, serving },
        ),
      );
    } catch (e) {
      if (!committed) await this.artifacts.discard(staged);
      else await this.removeIfUnreferenced(staged.digest);
      throw e;
    }
  }

  /** An archive of a model folder (see folder-upload.ts); `archive` is removed by the caller. */
  private async uploadFolder(
    owner: string,
    name: string,
    archive: string,
    format: ArchiveFormat,
    options: UploadOptions,
  ): Promise<VersionRecord> {
    const folder = await stageFolder(archive, format, options.variant, {
      artifacts: this.artifacts,
      validation: this.limits.validation,
      limited: (fn) => this.limited(fn),
      archiveLimits:
        this.limits.archive ??
        dataLimits({
          maxArchiveEntryBytes: this.limits.maxUploadBytes,
          maxInflatedBytes: 4 * this.limits.maxUploadBytes,
        }),
    });
    const committed: string[] = [];
    try {
      for (const s of folder.staged) {
        await this.artifacts.commit(s);
        committed.push(s.digest);
      }
      return await this.changing(
        this.store.models.addVersion(
          {
            owner,
            model: name,
            digest: folder.graph.digest,
            sizeBytes: folder.sizeBytes,
            signature: folder.signature,
            metadata: { ...(options.metadata ?? {}), ...folder.metadata },
          },
          {
            owner,
            name,
            // The folder says what it is: a decoder generates text, an encoder embeds.
            task: options.task ?? String(folder.metadata.task),
            description: options.description,
            serving: options.serving ?? {},
          },
        ),
      );
    } catch (e) {
      for (const s of folder.staged.filter((x) => !committed.includes(x.digest)))
        await this.artifacts.discard(s);
      for (const digest of committed) await this.removeIfUnreferenced(digest);
      throw e;
    }
  }

  /**
   * The path ONNX Runtime loads a version from: its stored file, or for a folder version the graph
   * inside its folder view (so external data resolves beside it).
   */
  async modelPath(v: VersionRecord): Promise<string> {
    const files = folderFiles(v);
    const graph = v.metadata.graph;
    if (files.length === 0 || typeof graph !== 'string') return this.localPath(v);
    const view = await this.artifacts.folderView(viewKey(files), files);
    return join(view, graph);
  }

  /** The stored file of a folder version's file (by its digest, as `metadata.files` lists it). */
  artifactPath(digest: string): string {
    return this.artifacts.pathOf(digest);
  }

  /** A private temp folder under the data folder (the caller removes it). */
  tempFolder(): Promise<string> {
    return this.artifacts.tempFolder();
  }

  /** A file of a folder version by its folder path; null when the version has no such file. */
  async readFolderFile(v: VersionRecord, path: string): Promise<Uint8Array | null> {
    const file = folderFiles(v).find((f) => f.path === path);
    return file ? new Uint8Array(await readFile(await this.artifacts.local(file.digest))) : null;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.checksRunning >= MAX_CONCURRENT_CHECKS)
      await new Promise<void>((r) => this.checkWaiters.push(r));
    this.checksRunning++;
    try {
      return await fn();
    } finally {
      this.checksRunning--;
      this.checkWaiters.shift()?.();
    }
  }

  async listModels(owner: string): Promise<ModelRecord[]> {
    return this.store.models.listModels(owner);
  }

  /** Other tenants' public models: what `tenant` may call as `owner~name` besides its own. */
  async listPublicModels(tenant: string): Promise<ModelRecord[]> {
    return this.store.models.listPublicModels(tenant);
  }

  async getModel(owner: string, name: string): Promise<ModelDetail> {
    parseName(name, 'model');
    const model = (await this.store.models.getModel(owner, name)) ?? (await this.notFound(owner, name));
    return {
      ...model,
      versions: await this.store.models.listVersions(owner, name),
      aliases: await this.store.models.listAliases(owner, name),
    };
  }

  /** The model row alone (serving settings), without its versions: the per-request lookup. */
  async modelRecord(owner: string, name: string): Promise<ModelRecord> {
    parseName(name, 'model');
    const model = await this.lookups.model(owner, name, () => this.store.models.getModel(owner, name));
    return model ?? (await this.notFound(owner, name));
  }

  async updateModel(owner: string, name: string, patch: ModelPatch): Promise<ModelRecord> {
    parseName(name, 'model');
    return this.changing(this.store.models.updateModel(owner, name, patch));
  }

  /** A write to a model: the cached lookups are cleared once it is done (or failed). */
  private async changing<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      await this.lookups.changed();
    }
  }

  /** `ref` is a version number (`"3"`) or an alias (`"prod"`); absent means `latest`. */
  async resolve(owner: string, name: string, ref?: string): Promise<VersionRecord> {
    parseName(name, 'model');
    const version = await this.versionNumber(owner, name, ref ?? LATEST_ALIAS);
    const record = await this.versionRecord(owner, name, version);
    if (record) return record;
    if (!(await this.store.models.getModel(owner, name))) return this.notFound(owner, name);
    return fail('not_found', `model '${name}' has no version ${ref ?? LATEST_ALIAS}`);
  }

  /**
   * One version's record, from memory when it was read before. Callers share the cached object and
   * must not modify it (none does: a version is immutable). The cache is exact within this
   * process, the only writer of the embedded store: `afterRemoval` drops deleted versions.
   */
  private async versionRecord(owner: string, name: string, version: number): Promise<VersionRecord | null> {
    const key = versionCacheKey({ owner, model: name, version });
    const known = this.versions.get(key);
    if (known) {
      this.versions.delete(key);
      this.versions.set(key, known);
      return known;
    }
    const epoch = this.removals;
    const record = await this.store.models.getVersion(owner, name, version);
    if (record && epoch === this.removals && this.sharing?.cacheVersions !== false) {
      this.versions.set(key, record);
      if (this.versions.size > VERSION_CACHE_ENTRIES) {
        this.versions.delete(this.versions.keys().next().value as string);
      }
    }
    return record;
  }

  private async versionNumber(owner: string, name: string, ref: string): Promise<number> {
    if (/^[0-9]{1,9}$/.test(ref)) return Number(ref);
    parseName(ref, 'version');
    const v = await this.lookups.version(owner, name, ref, async () => {
      const n = await this.store.models.resolveAlias(owner, name, ref);
      return n ?? null;
    });
    if (v !== null && v !== undefined) return v;
    if (!(await this.store.models.getModel(owner, name))) return this.notFound(owner, name);
    if (ref === LATEST_ALIAS) return this.missing(owner, name, `model '${name}' has no versions yet`);
    return this.missing(owner, name, `model '${name}' has no version or alias '${ref}'`);
  }

  async setAlias(owner: string, name: string, alias: string, ref: string): Promise<number> {
    parseName(name, 'model');
    parseName(alias, 'alias');
    if (alias === LATEST_ALIAS) fail('invalid_request', `'${LATEST_ALIAS}' is maintained automatically`);
    if (/^[0-9]+$/.test(alias))
      fail('invalid_name', 'an alias cannot be a number (it would shadow a version)');
    const version = await this.versionNumber(owner, name, ref);
    await this.changing(this.store.models.setAlias(owner, name, alias, version));
    return version;
  }

  async deleteAlias(owner: string, name: string, alias: string): Promise<void> {
    parseName(name, 'model');
    parseName(alias, 'alias');
    if (alias === LATEST_ALIAS) fail('invalid_request', `'${LATEST_ALIAS}' is maintained automatically`);
    if (!(await this.changing(this.store.models.deleteAlias(owner, name, alias))))
      fail('not_found', `no alias '${alias}'`);
  }

  async deleteModel(owner: string, name: string): Promise<void> {
    parseName(name, 'model');
    this.removals++; // before the delete: a read in flight now is not cached
    const removed =
      (await this.changing(this.store.models.deleteModel(owner, name))) ?? (await this.notFound(owner, name));
    await this.afterRemoval(removed);
  }

  async deleteVersion(owner: string, name: string, ref: string): Promise<void> {
    const v = await this.resolve(owner, name, ref);
    this.removals++; // before the delete: a read in flight now is not cached
    await this.changing(this.store.models.deleteVersion(owner, name, v.version));
    await this.afterRemoval([v]);
  }

  /** The version's file on this machine: with a shared blob store, fetched into the local cache. */
  localPath(v: VersionRecord): Promise<string> {
    return this.artifacts.local(v.digest);
  }

  private async afterRemoval(versions: VersionRecord[]): Promise<void> {
    this.removals++;
    for (const v of versions) this.versions.delete(versionCacheKey(v));
    for (const v of versions) {
      for (const l of this.listeners) l(v);
      const message: RemovalMessage = { origin: this.origin, version: v };
      await this.sharing?.bus.publish('version-removed', JSON.stringify(message)).catch(() => {});
      await this.removeIfUnreferenced(v.digest);
      for (const f of folderFiles(v)) await this.removeIfUnreferenced(f.digest);
      if (folderFiles(v).length > 0) await this.artifacts.removeView(viewKey(folderFiles(v)));
    }
  }

  private async removeIfUnreferenced(digest: string): Promise<void> {
    if (!(await this.store.models.referencedDigests()).has(digest)) await this.artifacts.remove(digest);
  }
}

/** A folder view's name: the digest of its file list (the same graph may come with other data). */
function viewKey(files: readonly FolderFile[]): string {
  const list = files
    .map((f) => `${f.path}\u0000${f.digest}`)
    .sort()
    .join('\n');
  return `sha256:${createHash('sha256').update(list).digest('hex')}`;
}

const versionCacheKey = (v: Pick<VersionRecord, 'owner' | 'model' | 'version'>): string =>
  `${v.owner}\u0000${v.model}\u0000${v.version}`;
