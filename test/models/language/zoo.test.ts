import { describe, expect, it } from 'vitest';
import { runtimeFor } from '../../../src/models/runtimes';
import { meetsTarget, registerZooEntry, zooEntries, zooEntry } from '../../../src/models/zoo/index';
import { LANGUAGE_ZOO_SIZES } from '../../../src/models/zoo/language';
import '../../../src/models/language/index';

describe('zoo manifest', () => {
  it('lists the language rows, each with a registered runtime for its family', () => {
    const names = zooEntries().map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['gpt', 'lstm-lm', 'word2vec']));
    for (const name of ['gpt', 'lstm-lm', 'word2vec']) {
      const e = zooEntry(name);
      expect(runtimeFor(e.family)).toBeTypeOf('function');
      expect(Number.isInteger(e.seed)).toBe(true);
    }
    // The gpt-vs-lstm bar is only fair at equal windows, steps, batch and optimiser settings.
    const { gpt, lstm } = LANGUAGE_ZOO_SIZES.full;
    expect(gpt.model.context).toBe(lstm.model.seq);
    expect(gpt.train).toEqual(lstm.train);
    expect(zooEntry('gpt').mustBeat).toEqual(['lstm-lm']);
  });

  it('refuses a duplicate row and an unknown name', () => {
    const e = zooEntry('gpt');
    expect(() => registerZooEntry(e)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => zooEntry('nope')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('judges a quality figure against its target in the right direction', () => {
    expect(meetsTarget({ metric: 'bpc', value: 2.1, target: 4.5, higherIsBetter: false })).toBe(true);
    expect(meetsTarget({ metric: 'bpc', value: 4.6, target: 4.5, higherIsBetter: false })).toBe(false);
    expect(meetsTarget({ metric: 'acc', value: 0.99, target: 0.985, higherIsBetter: true })).toBe(true);
    expect(meetsTarget({ metric: 'loss', value: 1, higherIsBetter: false })).toBe(true);
  });

  it('trains the quick gpt row end to end: ONNX bytes, metadata, quality', async () => {
    const lines: string[] = [];
    const a = await zooEntry('gpt').train({ seed: 1, scale: 'quick', log: (l) => lines.push(l) });
    expect(a.onnx.length).toBeGreaterThan(10_000);
    expect(a.metadata).toMatchObject({ family: 'gpt', task: 'text-generation', kvCache: true, context: 64 });
    expect(a.quality.metric).toBe('validation_bits_per_char');
    expect(a.quality.value).toBeLessThan(a.quality.target!);
    expect(lines.some((l) => l.startsWith('gpt: step 60/60'))).toBe(true);
  });
});
