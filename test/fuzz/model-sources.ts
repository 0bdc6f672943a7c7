/**
 * The valid models the fuzzer mutates: a deterministic sample of Debian's libonnx-testdata (ONNX's
 * operator test models) when the package is installed, and maas's own exports (graphs built with
 * the engine and written by its ONNX writer), which are always there.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bagModel, bigramModel, cppnModel, vowelModel } from '../tasks/fixtures/models';
import type { ModelSource } from './model-mutations';

export const LIBONNX_TESTDATA = '/usr/share/libonnx-testdata/data';

/** Every `step`-th model of the package (sorted), at most `limit`. */
async function libonnxSample(limit: number): Promise<ModelSource[]> {
  const all: string[] = [];
  for (const group of (await readdir(LIBONNX_TESTDATA)).sort()) {
    for (const name of (await readdir(join(LIBONNX_TESTDATA, group))).sort()) {
      if (existsSync(join(LIBONNX_TESTDATA, group, name, 'model.onnx'))) all.push(`${group}/${name}`);
    }
  }
  const step = Math.max(1, Math.floor(all.length / limit));
  const picked = all.filter((_, i) => i % step === 0).slice(0, limit);
  return Promise.all(
    picked.map(async (id) => ({
      name: `libonnx-testdata:${id}`,
      bytes: new Uint8Array(await readFile(join(LIBONNX_TESTDATA, id, 'model.onnx'))),
    })),
  );
}

const ownExports = (): ModelSource[] => [
  { name: 'maas:bigram', bytes: bigramModel().onnx },
  { name: 'maas:bag', bytes: bagModel().onnx },
  { name: 'maas:vowels', bytes: vowelModel().onnx },
  { name: 'maas:cppn', bytes: cppnModel().onnx },
];

export interface Sources {
  models: ModelSource[];
  /** Why libonnx-testdata is missing from `models`, or null. */
  skipped: string | null;
}

export async function modelSources(libonnxLimit = 60): Promise<Sources> {
  if (!existsSync(LIBONNX_TESTDATA)) {
    return {
      models: ownExports(),
      skipped: `libonnx-testdata is not installed (${LIBONNX_TESTDATA}): fuzzing maas's own exports only`,
    };
  }
  return { models: [...ownExports(), ...(await libonnxSample(libonnxLimit))], skipped: null };
}
