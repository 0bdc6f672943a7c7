/**
 * ONNX files derived from a model version by its family (the `saliency` graph of a classifier:
 * the same network with its input gradient as an output). Built on first use from the version's
 * metadata and stored file, written content-addressed into the artifact store (so the serving pool
 * loads it like any model file), and remembered per (version, role) until the version is removed.
 *
 * The store keeps one file per version; a derived file is not a row, so the leader's orphan sweep
 * removes it (once older than the sweep's grace period) and the next explanation builds it again
 * (≈ 10–100 ms for the families here): `get` checks that the remembered file is still there.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { decodeModel, type OnnxValueInfo } from '../../engine/index';
import { toCatalogError } from '../../models/common/engine-errors';
import { explainKey } from '../../models/index';
import type { TensorSignature, VersionRecord } from '../../store/ports';
import type { ArtifactStore } from '../artifacts/artifacts';
import type { Registry } from '../registry/registry';
import type { DerivedModel } from '../serving/inference';

/** (family, role) → a builder of the derived ONNX from (metadata, the version's ONNX bytes). */
export type DerivedBuilders = (
  family: string,
  role: string,
) => ((metadata: Readonly<Record<string, unknown>>, onnx: Uint8Array) => Uint8Array) | undefined;

/** Derived graphs are built in memory by us: 1 GiB is far above any of them. */
const MAX_DERIVED_BYTES = 1024 ** 3;

const key = (v: VersionRecord, role: string) => `${v.owner}\u0000${v.model}\u0000${v.version}\u0000${role}`;

const signatureOf = (infos: OnnxValueInfo[]): TensorSignature[] =>
  infos.map((i) => ({ name: i.name, dtype: i.elemType, shape: i.shape ?? [] }));

export class DerivedModels {
  private readonly cache = new Map<string, Promise<DerivedModel>>();

  constructor(
    private readonly registry: Registry,
    private readonly artifacts: ArtifactStore,
    private readonly builders: DerivedBuilders,
  ) {
    registry.onVersionRemoved((v) => {
      const prefix = key(v, '');
      for (const k of this.cache.keys()) if (k.startsWith(prefix)) this.cache.delete(k);
    });
  }

  async get(version: VersionRecord, role: string): Promise<DerivedModel> {
    const k = key(version, role);
    let p = this.cache.get(k);
    if (p) {
      const known = await p.catch(() => null);
      if (known && !(await this.artifacts.has(known.digest)) && this.cache.get(k) === p) {
        this.cache.delete(k);
        p = undefined;
      }
    }
    if (!p) {
      p = this.build(version, role);
      this.cache.set(k, p);
      p.catch(() => this.cache.delete(k));
    }
    return p;
  }

  private async build(version: VersionRecord, role: string): Promise<DerivedModel> {
    const family = explainKey(version.metadata);
    const builder = family ? this.builders(family, role) : undefined;
    if (!builder) fail('not_found', `model '${version.model}' has no '${role.slice(0, 32)}' artifact`);
    const source = await readFile(await this.registry.localPath(version));
    let bytes: Uint8Array;
    try {
      bytes = builder(version.metadata, new Uint8Array(source.buffer, source.byteOffset, source.length));
    } catch (e) {
      // The engine could not rebuild this model's graph: the model is not explainable, not a bug.
      throw toCatalogError(e, 'not_explainable');
    }
    const staged = await this.artifacts.stage(Readable.from([Buffer.from(bytes)]), MAX_DERIVED_BYTES);
    const path = await this.artifacts.commit(staged);
    const info = decodeModel(bytes);
    return {
      role,
      digest: staged.digest,
      path,
      sizeBytes: staged.sizeBytes,
      signature: { inputs: signatureOf(info.inputs), outputs: signatureOf(info.outputs) },
    };
  }
}
