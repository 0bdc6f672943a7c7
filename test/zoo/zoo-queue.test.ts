/**
 * Honest zoo times: the first-start queue puts gpt first and rows on optional data last, and
 * ETAs of rows not yet started follow the speed this machine shows on the rows it trained.
 */
import { describe, expect, it } from 'vitest';
import { zooEntries, zooEntry } from '../../src/models/zoo/index';
import { LANGUAGE_ZOO_SIZES } from '../../src/models/zoo/language';
import type { ZooEntry } from '../../src/models/zoo/manifest';
import { SpeedEstimate } from '../../src/platform/zoo-training/progress';
import { zooQueue } from '../../src/platform/zoo-training/service';

const row = (name: string, seconds: number, queueRank?: number): ZooEntry => ({
  name,
  family: 'x',
  task: 'x',
  seed: 1,
  description: name,
  expectedSeconds: { full: seconds, quick: seconds },
  ...(queueRank === undefined ? {} : { queueRank }),
  train: () => Promise.reject(new Error('not trained here')),
});

describe('zoo queue and ETAs', () => {
  it('queues by rank, then cheapest first: gpt before everything, optional-data rows last', () => {
    const queue = zooQueue(
      [row('fashion', 60, 2), row('slow', 140), row('gpt', 95, 0), row('cheap', 1), row('lm', 85)],
      new Map(),
      'full',
    ).map((e) => e.name);
    expect(queue).toEqual(['gpt', 'cheap', 'lm', 'slow', 'fashion']);
    // The real manifest: gpt leads, the Fashion rows (when their package is installed) trail.
    const real = zooQueue(zooEntries(), new Map(), 'full').map((e) => e.name);
    expect(real[0]).toBe('gpt');
    expect(zooEntry('fashion-gen').queueRank).toBe(2);
    expect(zooEntry('fashion-cnn').queueRank).toBe(2);
  });

  it('scales measured times by the speed observed on this machine, bounded', () => {
    const speed = new SpeedEstimate();
    expect(speed.factor()).toBe(1);
    speed.record(95, 285); // a loaded machine: 3× the idle measurement
    expect(speed.factor()).toBe(3);
    speed.record(null, 50); // a row with no measurement says nothing
    expect(speed.factor()).toBe(3);
    // The row in training counts once a tenth done: 20 s for 20% of an 85 s row → 100 s.
    const progress = { line: null, step: 20, steps: 100, elapsedSeconds: 20, etaSeconds: 80 };
    expect(speed.factor({ expected: 85, progress })).toBeCloseTo((285 + 100) / (95 + 85), 6);
    expect(speed.factor({ expected: 85, progress: { ...progress, step: 5, etaSeconds: 380 } })).toBe(3);
    const wild = new SpeedEstimate();
    wild.record(1, 1000);
    expect(wild.factor()).toBe(10);
  });

  it("quick gpt's context fits the documented chat demo (19-token prompt + max_tokens 40)", () => {
    expect(LANGUAGE_ZOO_SIZES.quick.gpt.model.context).toBeGreaterThanOrEqual(19 + 40);
  });
});
