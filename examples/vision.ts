/**
 * The vision zoo at full quality: the digit CNN (judge), the conditional VAE `image-gen` with its
 * recognition rate and sample grid (docs/images/image-gen-grid.png), and a CPPN gallery
 * (docs/images/cppn-gallery.png). `npm run example -- vision` (a few minutes on 2 cores).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { EngineSession } from '../src/engine/runtime/session';
import { encodePng, tileImages } from '../src/models/common/image';
import { Rng } from '../src/models/common/prng';
import type { RunModel } from '../src/models/task';
import { createCppnModel } from '../src/models/vision/cppn';
import { normalVector, renderCppn } from '../src/models/vision/cppn-runtime';
import { loadDigits, trainDigitClassifier } from '../src/models/vision/digits';
import { trainImageGen } from '../src/models/vision/image-gen';
import { measureRecognition, sampleGrid } from '../src/models/vision/quality';

const runOf =
  (s: EngineSession): RunModel =>
  (inputs, o) =>
    s.run(inputs, o?.outputs);

export async function main(): Promise<void> {
  await mkdir('docs/images', { recursive: true });
  const data = await loadDigits();
  const clf = await trainDigitClassifier({ data, seed: 1, epochs: 6 });
  console.log(
    `digit CNN: held-out accuracy ${(clf.accuracy * 100).toFixed(2)}% (${clf.seconds.toFixed(0)} s)`,
  );
  const gen = await trainImageGen({
    data,
    seed: 1,
    epochs: 30,
    onEpoch: (e, loss) => console.log(`image-gen epoch ${e + 1}: loss ${loss.toFixed(2)} nats/image`),
  });
  console.log(`image-gen trained in ${gen.seconds.toFixed(0)} s`);
  const decoder = await EngineSession.create(gen.onnx);
  const judge = await EngineSession.create(clf.onnx);
  for (const temperature of [gen.metadata.temperature, 1]) {
    const q = await measureRecognition(runOf(decoder), runOf(judge), {
      latentDim: gen.metadata.latentDim,
      classes: 10,
      perClass: 100,
      temperature,
      seed: 2026,
    });
    const per = q.perClass.map((v, d) => `${d}:${(v * 100).toFixed(0)}`).join(' ');
    console.log(
      `image-gen recognised as the requested digit: ${(q.overall * 100).toFixed(1)}% of ${q.samples} (T=${temperature}; ${per})`,
    );
  }
  const grid = await sampleGrid(runOf(decoder), {
    latentDim: gen.metadata.latentDim,
    classes: 10,
    columns: 10,
    seed: 7,
    temperature: gen.metadata.temperature,
  });
  await writeFile('docs/images/image-gen-grid.png', encodePng(grid));
  const tiles = [];
  for (const [i, palette] of ['rgb', 'warm', 'cool', 'neon', 'mono', 'earth'].entries()) {
    const { onnx, metadata } = createCppnModel({ seed: 10 + i, depth: 4 + (i % 3), width: 32 });
    const s = await EngineSession.create(onnx);
    const z = normalVector(new Rng(i), metadata.latentDim);
    tiles.push(await renderCppn(runOf(s), metadata.latentDim, { width: 192, height: 192, z, palette }));
    await s.release();
  }
  await writeFile('docs/images/cppn-gallery.png', encodePng(tileImages(tiles, { columns: 3 })));
  console.log('wrote docs/images/image-gen-grid.png and docs/images/cppn-gallery.png');
  await Promise.all([decoder.release(), judge.release()]);
}
