/**
 * The zoo as public models: each trained zoo artifact becomes a version of model `<name>` owned by
 * tenant `zoo`, marked public, so every tenant calls it as `zoo~<name>` (src/api/model-ref.ts).
 * The version's metadata carries the family (which task runtime serves it), the zoo seed and the
 * quality figure, so `zooStatus` reads everything back from the registry alone.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { isMaasError } from '../common/errors';
import {
  beats,
  meetsTarget,
  type ZooArtifact,
  type ZooQuality,
  zooEntries,
  zooEntry,
  zooUnavailable,
} from '../models/zoo/index';
import type { VersionRecord } from '../store/ports';
import type { Registry } from './registry/registry';
import type { Tenancy } from './tenancy/index';

/** The tenant that owns every zoo model. */
export const ZOO_TENANT = 'zoo';

/** What installing and listing zoo models needs of the platform (a `Platform` is one). */
export interface ZooHost {
  registry: Registry;
  tenancy: Pick<Tenancy, 'tenants'>;
}

/** `quick` models are tiny smoke-test versions; `full` is the zoo's real size. */
export type ZooScale = 'full' | 'quick';

export interface ZooInstall {
  version: VersionRecord;
  /** false when the latest version already held these exact bytes (a seeded re-run). */
  created: boolean;
}

export interface ZooTrained {
  artifact: ZooArtifact;
  seed: number;
  /** Wall time of the training, seconds. */
  seconds: number;
  scale: ZooScale;
}

const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The version of zoo model `name` registered by zoo job `job` (null: none). */
async function versionOfJob(platform: ZooHost, name: string, job: string): Promise<VersionRecord | null> {
  const model = await platform.registry.getModel(ZOO_TENANT, name).catch(() => null);
  return (
    model?.versions.find((v) => (v.metadata.lineage as { job?: unknown } | undefined)?.job === job) ?? null
  );
}

/**
 * Register `trained` as the newest version of public model `zoo/<name>`. Re-installing the same
 * bytes (cppn, or any seeded run that reproduced itself) keeps the existing version. With `job`
 * (a zoo job's id, see zoo-training/jobs.ts) the version names the job, and the registry's unique
 * source-job index makes two workers finishing the same job register one version.
 */
export async function installZooModel(
  platform: ZooHost,
  name: string,
  trained: ZooTrained,
  job?: string,
): Promise<ZooInstall> {
  const entry = zooEntry(name);
  await platform.tenancy.tenants.ensure(ZOO_TENANT);
  const mine = job ? await versionOfJob(platform, name, job) : null;
  if (mine) return { version: mine, created: false };
  const latest = await platform.registry.resolve(ZOO_TENANT, name).catch((e: unknown) => {
    // `not_ready`: the registry's explanation of a missing zoo model that is training (this one).
    if (isMaasError(e) && (e.code === 'not_found' || e.code === 'not_ready')) return null;
    throw e;
  });
  if (latest && latest.digest === digestOf(trained.artifact.onnx)) {
    await platform.registry.updateModel(ZOO_TENANT, name, { public: true });
    return { version: latest, created: false };
  }
  let created = true;
  const version = await platform.registry
    .upload(ZOO_TENANT, name, Readable.from([Buffer.from(trained.artifact.onnx)]), {
      task: entry.task,
      description: entry.description,
      metadata: {
        ...trained.artifact.metadata,
        family: entry.family,
        task: entry.task,
        zoo: { seed: trained.seed, trainSeconds: trained.seconds, scale: trained.scale },
        quality: trained.artifact.quality,
        ...(job ? { lineage: { job } } : {}),
      },
      job,
    })
    .catch(async (e: unknown) => {
      // Another worker registered this job's version first: that one is the job's.
      const winner =
        job && isMaasError(e) && e.code === 'conflict' ? await versionOfJob(platform, name, job) : null;
      if (!winner) throw e;
      created = false;
      return winner;
    });
  await platform.registry.updateModel(ZOO_TENANT, name, { public: true });
  return { version, created };
}

export interface ZooRival {
  name: string;
  value: number;
  beaten: boolean;
}

export interface ZooStatusRow {
  name: string;
  family: string;
  task: string;
  description: string;
  /** Latest installed version, null when never installed. */
  version: number | null;
  quality: ZooQuality | null;
  /** null when not installed. Also false when an installed rival (`rivals`) is not beaten. */
  meetsTarget: boolean | null;
  /** The installed zoo rows of the same metric and scale this row must beat, and whether it does. */
  rivals: ZooRival[];
  public: boolean;
  /** Wall time of the installed version's training (s), null when unknown. */
  trainSeconds: number | null;
  /** Scale of the installed version (null when not installed). */
  scale: ZooScale | null;
  /**
   * Why this machine cannot train the row, with the fix ("unavailable: apt-get install
   * dataset-fashion-mnist"); null when it can. An installed version still serves.
   */
  unavailable: string | null;
}

const scaleOf = (metadata: Record<string, unknown>): ZooScale =>
  (metadata.zoo as { scale?: unknown } | undefined)?.scale === 'quick' ? 'quick' : 'full';

function qualityOf(metadata: Record<string, unknown>): ZooQuality | null {
  const q = metadata.quality as Partial<ZooQuality> | undefined;
  if (
    !q ||
    typeof q.metric !== 'string' ||
    typeof q.value !== 'number' ||
    typeof q.higherIsBetter !== 'boolean'
  )
    return null;
  return q as ZooQuality;
}

/** Every manifest entry with what the registry holds for it. */
export async function zooStatus(platform: ZooHost): Promise<ZooStatusRow[]> {
  const rows: ZooStatusRow[] = [];
  for (const e of zooEntries()) {
    const base = {
      name: e.name,
      family: e.family,
      task: e.task,
      description: e.description,
      unavailable: zooUnavailable(e),
    };
    const model = await platform.registry.modelRecord(ZOO_TENANT, e.name).catch(() => null);
    const latest = model ? await platform.registry.resolve(ZOO_TENANT, e.name).catch(() => null) : null;
    if (!model || !latest) {
      rows.push({
        ...base,
        version: null,
        quality: null,
        meetsTarget: null,
        rivals: [],
        public: false,
        trainSeconds: null,
        scale: null,
      });
      continue;
    }
    const quality = qualityOf(latest.metadata);
    const seconds = (latest.metadata.zoo as { trainSeconds?: unknown } | undefined)?.trainSeconds;
    rows.push({
      ...base,
      version: latest.version,
      quality,
      meetsTarget: quality ? meetsTarget(quality) : null,
      rivals: [],
      public: model.public,
      trainSeconds: typeof seconds === 'number' ? seconds : null,
      scale: scaleOf(latest.metadata),
    });
  }
  return judgeRivals(rows);
}

/** Fills `rivals` from the manifest's `mustBeat`: only installed rows of the same metric and scale count. */
function judgeRivals(rows: ZooStatusRow[]): ZooStatusRow[] {
  const byName = new Map(rows.map((r) => [r.name, r]));
  return rows.map((r) => {
    const q = r.quality;
    if (!q) return r;
    const rivals: ZooRival[] = [];
    for (const name of zooEntry(r.name).mustBeat ?? []) {
      const other = byName.get(name);
      if (!other?.quality || other.quality.metric !== q.metric || other.scale !== r.scale) continue;
      rivals.push({ name, value: other.quality.value, beaten: beats(q, other.quality) });
    }
    return { ...r, rivals, meetsTarget: r.meetsTarget === true && rivals.every((x) => x.beaten) };
  });
}
