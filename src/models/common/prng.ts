/**
 * A small seeded PRNG for reproducible sampling: sfc32 (Chris Doty-Humphrey's "small fast
 * counting" generator, 128-bit state, passes PractRand to 2^45 bytes), seeded through a 32-bit
 * mixing hash so that nearby seeds (0, 1, 2 ...) give unrelated streams. The same seed always gives
 * the same numbers on every platform: it uses only 32-bit integer maths (`Math.imul`, `>>>`).
 */

export type Seed = number | string;

/** Murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Four 32-bit words from a seed. Integers use their low and high 32 bits; strings their UTF-16 units. */
function seedWords(seed: Seed): [number, number, number, number] {
  let h = 0x9e3779b9;
  const absorb = (word: number): void => {
    h = mix32((h ^ word) + 0x6d2b79f5);
  };
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
    const n = Math.trunc(seed);
    absorb(n >>> 0);
    absorb(Math.floor(n / 2 ** 32) >>> 0);
  } else {
    absorb(0x5eed);
    for (let i = 0; i < seed.length; i++) absorb(seed.charCodeAt(i));
    absorb(seed.length);
  }
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    absorb(i + 1);
    out.push(h);
  }
  return out as [number, number, number, number];
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: Seed) {
    [this.a, this.b, this.c, this.d] = seedWords(seed);
    // sfc32's author advises discarding the first outputs so weak seeds warm up.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /**
   * An independent generator derived from this one (advances this one by four draws). Use it to give
   * each of `n` choices its own stream, so choice 2 is the same whether or not choice 1 ran longer.
   */
  split(): Rng {
    const child = new Rng(0);
    child.a = this.nextUint32() | 0;
    child.b = this.nextUint32() | 0;
    child.c = this.nextUint32() | 0;
    child.d = this.nextUint32() | 0;
    for (let i = 0; i < 12; i++) child.nextUint32();
    return child;
  }
}

/** A seed for requests that gave none: random, but reportable so the client can replay it. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
