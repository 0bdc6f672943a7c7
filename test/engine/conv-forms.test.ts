import { describe, expect, it } from 'vitest';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import { type ConvGradFormSetting, convGradFormsMeasured } from '../../src/engine/train/conv-forms';
import type { ModelSpec } from '../../src/engine/train/graphs';
import * as nn from '../../src/nn/index';

/** Stride-1 weight gradients of three kinds: a padded 3×3 Conv, an unpadded 5×5 and a ConvTranspose. */
function convNet(): ModelSpec {
  const rng = new nn.Rng(11);
  const net = nn.sequential(
    nn.conv2d(rng, 2, 4, 3, { padding: 'same' }),
    nn.relu(),
    nn.conv2d(rng, 4, 3, 5),
    nn.relu(),
    nn.convTranspose2d(rng, 3, 2, 2),
    nn.flatten(),
    nn.linear(rng, 2 * 7 * 7, 3),
  );
  return {
    params: net.params,
    batch: { x: { dtype: 'float32', shape: [3, 2, 10, 10] }, y: { dtype: 'int64', shape: [3] } },
    forward: (b) => ({ logits: net(b.x) }),
    loss: (p, b) => nn.crossEntropy(p.logits, b.y),
  };
}

/** Parameters after two SGD steps on fixed data, with the weight gradients in `form`. */
async function trained(form?: ConvGradFormSetting) {
  const t = await compileTrainStep({ model: convNet(), optimizer: nn.sgd(), convWeightGrad: form });
  const data = Array.from({ length: 3 * 2 * 10 * 10 }, (_, i) => Math.sin(i * 0.37));
  const batch = { x: tensorFrom('float32', [3, 2, 10, 10], data), y: tensorFrom('int64', [3], [0, 2, 1]) };
  for (let i = 0; i < 2; i++) await t.step(batch, 0.1);
  const params = Array.from(t.state().params);
  await t.release();
  return { params, forms: t.convWeightGradForms };
}

async function trainedParams(form?: ConvGradFormSetting): Promise<number[]> {
  return (await trained(form)).params;
}

describe('stride-1 Conv weight gradient forms', () => {
  // ONNX Runtime's Conv is float32 only: equal steps up to float32 rounding (each form is also
  // checked against finite differences in gradcases.ts).
  it('the swapped Conv and im2col give the same training steps', async () => {
    const swapped = await trainedParams('swapped');
    const im2col = await trainedParams('im2col');
    const initial = convNet().params.flatMap((p) => Array.from(p.value.data as Float32Array));
    expect(im2col.length).toBe(swapped.length);
    // The steps moved the parameters, so equal results compare real gradients.
    expect(Math.max(...swapped.map((v, i) => Math.abs(v - initial[i])))).toBeGreaterThan(1e-3);
    expect(Math.max(...im2col.map((v, i) => Math.abs(v - swapped[i])))).toBeLessThan(1e-5);
  });

  it("auto times each shape once on this machine; a step's forms pin the same arithmetic elsewhere", async () => {
    const before = (await convGradFormsMeasured()).size;
    const auto = await trained();
    // Three distinct stride-1 weight gradients in the net, each timed once and given a form.
    expect((await convGradFormsMeasured()).size).toBe(before + 3);
    expect(Object.keys(auto.forms)).toHaveLength(3);
    await trained();
    expect((await convGradFormsMeasured()).size).toBe(before + 3);
    // Pinned to the recorded forms (as a resumed job compiles), the steps are bit-identical.
    expect((await trained(auto.forms)).params).toEqual(auto.params);
    const swapped = await trainedParams('swapped');
    expect(Math.max(...auto.params.map((v, i) => Math.abs(v - swapped[i])))).toBeLessThan(1e-5);
  });
});
