/**
 * A parsed JSON document as flat typed arrays (a "tape"), so that a worker thread can hand a large
 * body back to the event loop cheaply (json-threads.ts). Posting the object graph itself costs
 * the receiving thread a structured-clone deserialisation as long as JSON.parse (one allocation
 * per value, all at once); the tape's arrays are TRANSFERRED (no copy) and its strings travel as
 * one string, and the event loop rebuilds the graph in slices of a few milliseconds
 * (`TapeDecoder`), yielding to other requests between slices. The rebuilt value is exactly what
 * JSON.parse returns (plain arrays and objects, `__proto__` as an own key, -0 kept), so route
 * handlers see no difference.
 */

/** What each tape byte says the next value is. */
const NUM = 0;
const STR = 1;
const ARR = 2;
const OBJ = 3;
const NULL = 4;
const TRUE = 5;
const FALSE = 6;
/** An array of numbers only: its size, then its numbers in a row (copied, or viewed typed). */
const NUMS = 7;

export interface JsonTape {
  /** One kind byte per value (keys excluded). */
  kinds: Uint8Array;
  /** Every number, in document order. */
  numbers: Float64Array;
  /** Array and object sizes and string lengths (keys included), in document order. */
  sizes: Uint32Array;
  /** Every string and key, concatenated. */
  text: string;
}

/** A typed array that doubles as it fills. */
class Growing<T extends Uint8Array | Uint32Array | Float64Array> {
  private length = 0;
  constructor(
    private data: T,
    private readonly make: (n: number) => T,
  ) {}

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  /** The filled part, in a buffer of its own (so it can be transferred). */
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}

/** Writes a parsed value (JSON.parse's output: no cycles, depth already bounded) as a tape. */
export function encodeTape(value: unknown): JsonTape {
  const kinds = new Growing(new Uint8Array(1024), (n) => new Uint8Array(n));
  const numbers = new Growing(new Float64Array(1024), (n) => new Float64Array(n));
  const sizes = new Growing(new Uint32Array(1024), (n) => new Uint32Array(n));
  const strings: string[] = [];
  const str = (s: string) => {
    sizes.push(s.length);
    strings.push(s);
  };
  const visit = (v: unknown): void => {
    if (typeof v === 'number') {
      kinds.push(NUM);
      numbers.push(v);
    } else if (typeof v === 'string') {
      kinds.push(STR);
      str(v);
    } else if (v === null) kinds.push(NULL);
    else if (v === true) kinds.push(TRUE);
    else if (v === false) kinds.push(FALSE);
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')) {
      kinds.push(NUMS);
      sizes.push(v.length);
      for (const x of v) numbers.push(x);
    } else if (Array.isArray(v)) {
      kinds.push(ARR);
      sizes.push(v.length);
      for (const item of v) visit(item);
    } else {
      const entries = Object.entries(v as Record<string, unknown>);
      kinds.push(OBJ);
      sizes.push(entries.length);
      for (const [k, item] of entries) {
        str(k);
        visit(item);
      }
    }
  };
  visit(value);
  return { kinds: kinds.done(), numbers: numbers.done(), sizes: sizes.done(), text: strings.join('') };
}

/** The buffers to transfer along with a tape. */
export const tapeBuffers = (t: JsonTape): ArrayBuffer[] => [
  t.kinds.buffer as ArrayBuffer,
  t.numbers.buffer as ArrayBuffer,
  t.sizes.buffer as ArrayBuffer,
];

interface Frame {
  /** Null while skipping a value that is not rebuilt (`unbuiltArraysIn`). */
  container: unknown[] | Record<string, unknown> | null;
  /** ARR, OBJ or NUMS (an array filled straight from the numbers). */
  kind: number;
  left: number;
  /** Inside the value of `typedUnder`: arrays of numbers come back typed. */
  typed: boolean;
  /** The list under `unbuiltArraysIn`: its items that are arrays come back empty. */
  unbuiltItems?: boolean;
}

/** Sets `key` as an own data property, as JSON.parse does (`o.__proto__ = v` would set the prototype). */
function define(o: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
  else o[key] = v;
}

/** How many values are rebuilt between two looks at the clock. */
const CHECK_EVERY = 4096;
/** Shorter arrays of numbers stay plain arrays even under `typedUnder` (a view costs more than it saves). */
const TYPED_MIN = 64;

export interface TapeOptions {
  /**
   * Arrays of numbers (of at least 64) anywhere inside the value of a key of this name come back
   * as Float64Array views of the transferred numbers instead of plain arrays: no allocation per
   * element on the event loop. Only for routes whose handlers read them (v2 tensors' `data`).
   */
  typedUnder?: string;
  /**
   * The items of the top-level array under this key that are themselves arrays come back EMPTY:
   * their contents are skipped on the tape, never built. Only for routes that refuse such an item
   * by its position whatever it holds (predict: a row is an object or a string, never an array).
   * Building one row of 16M numbers held the event loop for seconds in a single allocation.
   */
  unbuiltArraysIn?: string;
}

/** Rebuilds a tape's value a slice at a time: `run(ms)` until it returns true, then `value`. */
export class TapeDecoder {
  private k = 0;
  private n = 0;
  private s = 0;
  private at = 0;
  private readonly stack: Frame[] = [];
  readonly value: unknown;

  constructor(
    private readonly tape: JsonTape,
    private readonly options: TapeOptions = {},
  ) {
    this.value = this.next(false);
  }

  /** Rebuilds for about `ms` milliseconds; true once the whole value is built. */
  run(ms: number): boolean {
    const deadline = performance.now() + ms;
    const { stack } = this;
    let steps = 0;
    while (stack.length > 0) {
      if (steps >= CHECK_EVERY) {
        if (performance.now() >= deadline) return false;
        steps = 0;
      }
      const top = stack[stack.length - 1];
      if (top.left === 0) {
        stack.pop();
        continue;
      }
      if (top.container === null) {
        steps++;
        this.skipItem(top);
        continue;
      }
      if (top.kind === NUMS) {
        steps += this.copyNumbers(top);
        continue;
      }
      steps++;
      top.left--;
      if (top.kind === ARR)
        (top.container as unknown[]).push(top.unbuiltItems ? this.itemOfUnbuilt() : this.next(top.typed));
      else {
        const key = this.string();
        const typed = top.typed || key === this.options.typedUnder;
        const value =
          this.stack.length === 1 && key === this.options.unbuiltArraysIn
            ? this.listOfUnbuilt()
            : this.next(typed);
        define(top.container as Record<string, unknown>, key, value);
      }
    }
    return true;
  }

  /** The top-level list under `unbuiltArraysIn`: its array items are skipped (empty arrays). */
  private listOfUnbuilt(): unknown {
    if (this.tape.kinds[this.k] !== ARR) return this.next(false);
    this.k++;
    const list: unknown[] = [];
    this.stack.push({
      container: list,
      kind: ARR,
      left: this.tape.sizes[this.s++],
      typed: false,
      unbuiltItems: true,
    });
    return list;
  }

  /** An item of that list: an array is returned empty and its contents skipped (sliced by `run`). */
  private itemOfUnbuilt(): unknown {
    const kind = this.tape.kinds[this.k];
    if (kind !== ARR && kind !== NUMS) return this.next(false);
    this.k++;
    this.stack.push({ container: null, kind, left: this.tape.sizes[this.s++], typed: false });
    return [];
  }

  /** Steps over one item of a skipped container (keys of objects included), building nothing. */
  private skipItem(top: Frame): void {
    top.left--;
    if (top.kind === NUMS) {
      // All its numbers at once: nothing is built, so no slice can grow long here.
      this.n += top.left + 1;
      top.left = 0;
      return;
    }
    if (top.kind === OBJ) this.at += this.tape.sizes[this.s++];
    const kind = this.tape.kinds[this.k++];
    if (kind === NUM) this.n++;
    else if (kind === STR) this.at += this.tape.sizes[this.s++];
    else if (kind === NUMS) this.n += this.tape.sizes[this.s++];
    else if (kind === ARR || kind === OBJ)
      this.stack.push({ container: null, kind, left: this.tape.sizes[this.s++], typed: false });
  }

  /** Appends up to CHECK_EVERY numbers to an array of numbers; returns how many. */
  private copyNumbers(top: Frame): number {
    const out = top.container as number[];
    const { numbers } = this.tape;
    const count = Math.min(top.left, CHECK_EVERY);
    for (let i = 0; i < count; i++) out.push(numbers[this.n++]);
    top.left -= count;
    return count;
  }

  private string(): string {
    const end = this.at + this.tape.sizes[this.s++];
    const s = this.tape.text.slice(this.at, end);
    this.at = end;
    return s;
  }

  /** The next value; a container is returned empty and filled by `run`. */
  private next(typed: boolean): unknown {
    const kind = this.tape.kinds[this.k++];
    if (kind === NUM) return this.tape.numbers[this.n++];
    if (kind === STR) return this.string();
    if (kind === NUMS || kind === ARR || kind === OBJ) {
      const left = this.tape.sizes[this.s++];
      if (kind === NUMS && typed && left >= TYPED_MIN) {
        this.n += left;
        return this.tape.numbers.subarray(this.n - left, this.n);
      }
      const container = kind === OBJ ? {} : [];
      this.stack.push({ container, kind, left, typed });
      return container;
    }
    if (kind === NULL) return null;
    return kind === TRUE;
  }
}

/** A tape's value rebuilt on the event loop in slices of `sliceMs`, yielding between them. */
export async function decodeTape(
  tape: JsonTape,
  sliceMs: number,
  options: TapeOptions = {},
): Promise<unknown> {
  const decoder = new TapeDecoder(tape, options);
  while (!decoder.run(sliceMs)) await new Promise<void>((resolve) => setImmediate(resolve));
  return decoder.value;
}
