/**
 * What a succeeded job leaves behind: the model version's metadata (metrics, lineage, card) and
 * the registration itself, done once per job even when a crash lands between registering the
 * version and recording the job's success (the version's lineage names the job, so a retry finds it).
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { isMaasError } from '../../common/errors';
import { families } from '../../models/families/index';
import type { JobRecord } from '../../store/training-ports';
import type { Registry } from '../registry/registry';
import type { TrainingOutcome } from './protocol';

export function versionMetadata(job: JobRecord, o: TrainingOutcome): Record<string, unknown> {
  const family = families.get(job.family);
  const base = typeof job.hyperparameters.base === 'string' ? job.hyperparameters.base : undefined;
  const target = o.spec && o.spec.kind !== 'language-model' ? o.spec.target : undefined;
  return {
    family: job.family,
    task: o.task,
    ...(o.spec ? { featureSpec: o.spec } : {}),
    // Uploaded-model conventions too, so /explain and /v2 clients read the classes as for an upload.
    ...(base && target?.kind === 'class' ? { labels: target.classes } : {}),
    metrics: { ...o.metrics, lossCurve: o.lossCurve, validationCurve: o.validationCurve },
    lineage: {
      job: job.id,
      dataset: job.dataset,
      datasetDigest: job.datasetDigest,
      hyperparameters: job.hyperparameters,
      seed: job.hyperparameters.seed,
      steps: o.steps,
      resumedFrom: o.resumedFrom,
      ...(base ? { base } : {}),
    },
    card: {
      summary: base
        ? `${base} fine-tuned by maas on '${job.dataset}'`
        : `${family.description}, trained by maas on '${job.dataset}'`,
      family: job.family,
      parameters: o.paramCount,
      epochs: o.epochs,
      trainSeconds: o.trainSeconds,
      intendedUse: 'Predictions on data drawn like the training dataset; check the validation metrics first.',
      limitations: 'Validated on a held-out split of the same dataset only.',
    },
  };
}

/** The version of `job.model` whose lineage names `job` (undefined: none yet). */
async function versionOfJob(registry: Registry, job: JobRecord): Promise<number | undefined> {
  const model = await registry.getModel(job.owner, job.model).catch(() => undefined);
  return model?.versions.find((v) => (v.metadata.lineage as { job?: string } | undefined)?.job === job.id)
    ?.version;
}

/**
 * Register the job's exported model (`model.onnx` in `jobDir`) as a version of `job.model`,
 * unless a version whose lineage names this job exists already. Returns the version number.
 * Two trainers finishing the same job together (the first one's lease ran out while it still
 * worked) both get the one version: the store refuses a second version of a job (`conflict`).
 */
export async function registerOnce(
  registry: Registry,
  job: JobRecord,
  jobDir: string,
  outcome: TrainingOutcome,
): Promise<number> {
  const existing = await versionOfJob(registry, job);
  if (existing !== undefined) return existing;
  try {
    const version = await registry.upload(
      job.owner,
      job.model,
      createReadStream(join(jobDir, outcome.onnxFile)),
      {
        // A decoder folder's task comes from the folder itself.
        task: outcome.task === 'text-generation' ? undefined : outcome.task,
        metadata: versionMetadata(job, outcome),
        job: job.id,
      },
    );
    return version.version;
  } catch (e) {
    const winner = isMaasError(e) && e.code === 'conflict' ? await versionOfJob(registry, job) : undefined;
    if (winner === undefined) throw e;
    return winner;
  }
}
