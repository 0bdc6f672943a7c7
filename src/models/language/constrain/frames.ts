/**
 * The incremental JSON recogniser behind constrained decoding: a pushdown automaton over UTF-8
 * bytes whose state is an immutable stack of frames (one per open value), so the vocabulary walk
 * can branch from one state to thousands of tokens without copying. `step(byte)` returns the next
 * state or null when the byte cannot extend a valid prefix of the schema's language.
 *
 * Every frame also knows `cost()`: the fewest bytes that complete the whole document from here
 * (its own value, then everything below it, `after`). The constraint uses it to finish in time.
 *
 * Whitespace policy: none before the top value or after it; between tokens of a value (after
 * `{ [ , :` and before `, : } ]`) runs of up to MAX_WHITESPACE spaces, tabs or newlines, so both
 * compact and pretty-printed JSON can be written but a model cannot stall in blank space.
 * Numbers: at most MAX_INT_DIGITS integer digits (an `integer` stays a safe integer), MAX_FRAC_DIGITS
 * fraction digits and a 2-digit exponent. Strings: any valid UTF-8 and JSON escapes; raw control
 * characters are refused as JSON requires.
 */
import type { ByteText, ObjectNode, Property, ValueNode } from './schema';

export const MAX_WHITESPACE = 16;
export const MAX_INT_DIGITS = 15;
export const MAX_FRAC_DIGITS = 15;
const MAX_EXP_DIGITS = 2;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

export interface Frame {
  /** The state after `byte`, or null if no valid document continues that way. */
  step(byte: number): Frame | null;
  /** Fewest bytes that complete the document from this state. */
  cost(): number;
  /** Identifies the state (with the frames below it) for the mask cache. */
  key(): string;
  /** The value may end here but could also go on (a number, `1` of enum [1, 12]); absent: no. */
  canEnd?(): boolean;
  readonly parent: Container | null;
}

/** A frame that holds child values: it resumes when its child completes. */
export interface Container extends Frame {
  /** This container right after its current child value completed (`text`: a literal's, as written). */
  resume(text?: ByteText): Frame;
}

/** A frame inside an object's key: on completion it tells the object which property it was. */
interface KeyOwner extends Container {
  keyDone(property: number): Frame;
}

/** Start a value of `node` with its first byte; `after` = cost of everything once it completes. */
export function startValue(node: ValueNode, b: number, parent: Container, after: number): Frame | null {
  switch (node.kind) {
    case 'union':
      for (const branch of node.branches) {
        const f = startValue(branch, b, parent, after);
        if (f) return f;
      }
      return null;
    case 'string':
      return b === QUOTE ? new StringFrame(parent, after, 0, 0, 0x80, 0xbf, null) : null;
    case 'number':
      if (b === 0x2d) return new NumberFrame(parent, after, node.integer, 'minus', 0);
      if (b === 0x30) return new NumberFrame(parent, after, node.integer, 'zero', 1);
      if (isDigit(b)) return new NumberFrame(parent, after, node.integer, 'int', 1);
      return null;
    case 'literal':
      return new LiteralFrame(parent, after, node.id, node.texts, 0, null).step(b);
    case 'object':
      return b === 0x7b ? new ObjectFrame(parent, after, node, 'open', -1, -1, 0) : null;
    case 'array':
      return b === 0x5b ? new ArrayFrame(parent, after, node, 'open', 0, 0) : null;
  }
}

/** The bottom of every stack: one top-level value, then nothing. */
export class RootFrame implements Container {
  readonly parent = null;
  constructor(
    readonly node: ValueNode,
    readonly done: boolean,
  ) {}
  step(b: number): Frame | null {
    return this.done ? null : startValue(this.node, b, this, 0);
  }
  resume(): Frame {
    return new RootFrame(this.node, true);
  }
  cost(): number {
    return this.done ? 0 : this.node.minLen;
  }
  key(): string {
    return this.done ? 'R.' : 'R';
  }
}

function stackKey(self: string, parent: Frame | null): string {
  return parent ? `${self}/${parent.key()}` : self;
}

/** Inside a string (a value, or a free object key). */
class StringFrame implements Frame {
  constructor(
    readonly parent: Container,
    readonly after: number,
    /** 0: plain; 1: after a backslash; 2..5: hex digits of \uXXXX still to come, plus 1. */
    private readonly esc: number,
    /** UTF-8 continuation bytes still to come, and the range the next one must fall in. */
    private readonly need: number,
    private readonly lo: number,
    private readonly hi: number,
    /** Set for a free key: closing it asks the object for ':' next. */
    private readonly keyOf: KeyOwner | null,
  ) {}

  private with(esc: number, need: number, lo = 0x80, hi = 0xbf): StringFrame {
    return new StringFrame(this.parent, this.after, esc, need, lo, hi, this.keyOf);
  }

  step(b: number): Frame | null {
    if (this.esc === 1) {
      if (b === 0x75) return this.with(5, 0);
      return '"\\/bfnrt'.includes(String.fromCharCode(b)) ? this.with(0, 0) : null;
    }
    if (this.esc > 1) return isHex(b) ? this.with(this.esc === 2 ? 0 : this.esc - 1, 0) : null;
    if (this.need > 0) return b >= this.lo && b <= this.hi ? this.with(0, this.need - 1) : null;
    if (b === QUOTE) return this.keyOf ? this.keyOf.keyDone(-1) : this.parent.resume();
    if (b === BACKSLASH) return this.with(1, 0);
    if (b < 0x20) return null;
    if (b < 0x80) return this; // the common case allocates nothing
    if (b >= 0xc2 && b <= 0xdf) return this.with(0, 1);
    if (b === 0xe0) return this.with(0, 2, 0xa0, 0xbf); // no overlong forms
    if (b === 0xed) return this.with(0, 2, 0x80, 0x9f); // no UTF-16 surrogates
    if (b >= 0xe1 && b <= 0xef) return this.with(0, 2);
    if (b === 0xf0) return this.with(0, 3, 0x90, 0xbf);
    if (b >= 0xf1 && b <= 0xf3) return this.with(0, 3);
    if (b === 0xf4) return this.with(0, 3, 0x80, 0x8f); // ≤ U+10FFFF
    return null;
  }

  cost(): number {
    const inside = this.esc === 1 ? 1 : this.esc > 1 ? this.esc - 1 : this.need;
    return inside + 1 + this.after;
  }

  key(): string {
    return stackKey(`S${this.esc},${this.need},${this.lo},${this.hi}`, this.parent);
  }
}

type NumberPhase = 'minus' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'esign' | 'exp';
const NUMBER_ENDS: ReadonlySet<NumberPhase> = new Set(['zero', 'int', 'frac', 'exp']);

class NumberFrame implements Frame {
  constructor(
    readonly parent: Container,
    readonly after: number,
    private readonly integer: boolean,
    private readonly phase: NumberPhase,
    private readonly digits: number,
  ) {}

  private to(phase: NumberPhase, digits: number): NumberFrame {
    return new NumberFrame(this.parent, this.after, this.integer, phase, digits);
  }

  canEnd(): boolean {
    return NUMBER_ENDS.has(this.phase);
  }

  step(b: number): Frame | null {
    const next = this.grow(b);
    if (next) return next;
    return this.canEnd() ? this.parent.resume().step(b) : null;
  }

  private grow(b: number): Frame | null {
    const digit = isDigit(b);
    const exponent = (b === 0x65 || b === 0x45) && !this.integer;
    switch (this.phase) {
      case 'minus':
        return b === 0x30 ? this.to('zero', 1) : digit ? this.to('int', 1) : null;
      case 'zero':
      case 'int':
        if (digit && this.phase === 'int' && this.digits < MAX_INT_DIGITS)
          return this.to('int', this.digits + 1);
        if (b === 0x2e && !this.integer) return this.to('dot', 0);
        return exponent ? this.to('e', 0) : null;
      case 'dot':
        return digit ? this.to('frac', 1) : null;
      case 'frac':
        if (digit && this.digits < MAX_FRAC_DIGITS) return this.to('frac', this.digits + 1);
        return exponent ? this.to('e', 0) : null;
      case 'e':
        return b === 0x2b || b === 0x2d ? this.to('esign', 0) : digit ? this.to('exp', 1) : null;
      case 'esign':
        return digit ? this.to('exp', 1) : null;
      case 'exp':
        return digit && this.digits < MAX_EXP_DIGITS ? this.to('exp', this.digits + 1) : null;
    }
  }

  cost(): number {
    return (this.canEnd() ? 0 : 1) + this.after;
  }

  key(): string {
    return stackKey(`N${this.integer ? 'i' : 'n'}${this.phase}${this.digits}`, this.parent);
  }
}

/**
 * One of a fixed set of JSON texts, byte by byte: an enum or const value, true/false/null, or a
 * declared object key (then `keys` maps each text to its property and its cost once written).
 */
class LiteralFrame implements Frame {
  constructor(
    readonly parent: Container,
    readonly after: number,
    private readonly id: number,
    private readonly texts: readonly ByteText[],
    private readonly pos: number,
    private readonly keys: { owner: KeyOwner; index: number[]; tail: number[] } | null,
  ) {}

  canEnd(): boolean {
    return this.keys === null && this.texts.some((t) => t.length === this.pos);
  }

  private written(): ByteText {
    return this.texts[0].slice(0, this.pos);
  }

  step(b: number): Frame | null {
    const keep: number[] = [];
    this.texts.forEach((t, i) => {
      if (t.length > this.pos && t.charCodeAt(this.pos) === b) keep.push(i);
    });
    if (keep.length === 0) return this.canEnd() ? this.parent.resume(this.written()).step(b) : null;
    const pos = this.pos + 1;
    if (keep.every((i) => this.texts[i].length === pos)) {
      // Written out in full and nothing longer matches: the value (or key) is complete.
      return this.keys
        ? this.keys.owner.keyDone(this.keys.index[keep[0]])
        : this.parent.resume(this.texts[keep[0]]);
    }
    const keys = this.keys && {
      owner: this.keys.owner,
      index: keep.map((i) => this.keys!.index[i]),
      tail: keep.map((i) => this.keys!.tail[i]),
    };
    return new LiteralFrame(
      this.parent,
      this.after,
      this.id,
      keep.map((i) => this.texts[i]),
      pos,
      keys,
    );
  }

  cost(): number {
    let best = Number.POSITIVE_INFINITY;
    this.texts.forEach((t, i) => {
      best = Math.min(best, t.length - this.pos + (this.keys ? this.keys.tail[i] : 0));
    });
    return best + this.after;
  }

  key(): string {
    return stackKey(`L${this.id}:${this.texts[0].slice(0, this.pos)}`, this.parent);
  }
}

type ObjectPhase = 'open' | 'comma' | 'key' | 'colon' | 'value' | 'child' | 'next';

/** Per object node: what finishing costs after each property (see ObjectFrame.cost). */
interface ObjectCosts {
  /** closeAfter[i + 1]: bytes to write the required properties after property i, and '}'. */
  closeAfter: number[];
  /** keyed[j]: bytes from the start of property j's key to the end of the object. */
  keyed: number[];
}
const objectCosts = new WeakMap<ObjectNode, ObjectCosts>();

function costsOf(node: ObjectNode): ObjectCosts {
  let c = objectCosts.get(node);
  if (c) return c;
  const n = node.props.length;
  const closeAfter = new Array<number>(n + 1).fill(1);
  for (let i = n - 2; i >= -1; i--) {
    const p = node.props[i + 1];
    closeAfter[i + 1] = closeAfter[i + 2] + (p.required ? 1 + p.key.length + 1 + p.node.minLen : 0);
  }
  const keyed = node.props.map((p, j) => p.key.length + 1 + p.node.minLen + closeAfter[j + 1]);
  c = { closeAfter, keyed };
  objectCosts.set(node, c);
  return c;
}

class ObjectFrame implements KeyOwner {
  constructor(
    readonly parent: Container,
    readonly after: number,
    private readonly node: ObjectNode,
    private readonly phase: ObjectPhase,
    /** Index of the last property written (declared properties come in order). */
    private readonly last: number,
    /** Index of the property whose key was just written (-1: a free key). */
    private readonly current: number,
    private readonly ws: number,
  ) {}

  private to(phase: ObjectPhase, last = this.last, current = this.current, ws = 0): ObjectFrame {
    return new ObjectFrame(this.parent, this.after, this.node, phase, last, current, ws);
  }

  /** Properties that may come next: those after `last` up to and including the first required one. */
  private nextChoices(): number[] {
    const out: number[] = [];
    for (let j = this.last + 1; j < this.node.props.length; j++) {
      out.push(j);
      if (this.node.props[j].required) break;
    }
    return out;
  }

  private get free(): boolean {
    return this.node.extra !== null;
  }

  private mayClose(): boolean {
    return this.costs().closeAfter[this.last + 1] === 1;
  }

  private costs(): ObjectCosts {
    return costsOf(this.node);
  }

  private valueNode(): ValueNode {
    return this.current < 0 ? this.node.extra! : this.node.props[this.current].node;
  }

  private startKey(): Frame | null {
    const owner = this.to('key');
    // A free key costs its ':' , the value and the '}' on top of what follows the object.
    if (this.free)
      return new StringFrame(owner, 2 + this.node.extra!.minLen + this.after, 0, 0, 0x80, 0xbf, owner);
    const choices = this.nextChoices();
    if (choices.length === 0) return null;
    const props: Property[] = choices.map((j) => this.node.props[j]);
    const costs = this.costs();
    const tail = choices.map((j, i) => costs.keyed[j] - props[i].key.length);
    const frame = new LiteralFrame(
      owner,
      this.after,
      this.node.id,
      props.map((p) => p.key),
      0,
      {
        owner,
        index: choices,
        tail,
      },
    );
    return frame.step(QUOTE);
  }

  step(b: number): Frame | null {
    if (isWs(b) && this.phase !== 'key' && this.phase !== 'child')
      return this.ws < MAX_WHITESPACE ? this.to(this.phase, this.last, this.current, this.ws + 1) : null;
    switch (this.phase) {
      case 'open':
        if (b === 0x7d) return this.mayClose() ? this.parent.resume() : null;
        return b === QUOTE ? this.startKey() : null;
      case 'comma':
        return b === QUOTE ? this.startKey() : null;
      case 'colon':
        return b === 0x3a ? this.to('value') : null;
      case 'value':
        return startValue(this.valueNode(), b, this.to('child'), this.closeCost(this.current) + this.after);
      case 'next':
        if (b === 0x2c) return this.free || this.nextChoices().length > 0 ? this.to('comma') : null;
        return b === 0x7d && this.mayClose() ? this.parent.resume() : null;
      default:
        return null; // 'key' and 'child' frames only sit below the frame of their key or value
    }
  }

  private closeCost(property: number): number {
    return property < 0 ? 1 : this.costs().closeAfter[property + 1];
  }

  keyDone(property: number): Frame {
    return this.to('colon', this.last, property);
  }

  resume(text?: ByteText): Frame {
    const variant = this.current === 0 && text !== undefined ? this.node.variants?.get(text) : undefined;
    // A tagged union: the tag is written, so the rest follows the variant it names (tag = property 0).
    if (variant) return new ObjectFrame(this.parent, this.after, variant, 'next', 0, 0, 0);
    return this.to('next', this.current < 0 ? this.last : this.current, this.current);
  }

  cost(): number {
    const c = this.costs();
    const extraKey = 2 + 1 + (this.node.extra?.minLen ?? 0) + 1;
    switch (this.phase) {
      case 'open':
        return (
          (this.free ? 1 : Math.min(c.closeAfter[0], ...this.nextChoices().map((j) => c.keyed[j]))) +
          this.after
        );
      case 'comma':
        return (this.free ? extraKey : Math.min(...this.nextChoices().map((j) => c.keyed[j]))) + this.after;
      case 'colon':
        return 1 + this.valueNode().minLen + this.closeCost(this.current) + this.after;
      case 'value':
        return this.valueNode().minLen + this.closeCost(this.current) + this.after;
      case 'next':
        return c.closeAfter[this.last + 1] + this.after;
      default:
        return this.after; // never on top
    }
  }

  key(): string {
    return stackKey(`O${this.node.id}${this.phase}${this.last},${this.current},${this.ws}`, this.parent);
  }
}

type ArrayNode = Extract<ValueNode, { kind: 'array' }>;

class ArrayFrame implements Container {
  constructor(
    readonly parent: Container,
    readonly after: number,
    private readonly node: ArrayNode,
    private readonly phase: 'open' | 'comma' | 'child' | 'next',
    private readonly count: number,
    private readonly ws: number,
  ) {}

  private to(phase: ArrayFrame['phase'], count = this.count, ws = 0): ArrayFrame {
    return new ArrayFrame(this.parent, this.after, this.node, phase, count, ws);
  }

  /** Bytes to close once `count` items are written. */
  private closeCost(count: number): number {
    return Math.max(0, this.node.min - count) * (1 + this.node.items.minLen) + 1;
  }

  private item(b: number): Frame | null {
    if (this.count >= this.node.max) return null;
    return startValue(this.node.items, b, this.to('child'), this.closeCost(this.count + 1) + this.after);
  }

  step(b: number): Frame | null {
    if (isWs(b) && this.phase !== 'child')
      return this.ws < MAX_WHITESPACE ? this.to(this.phase, this.count, this.ws + 1) : null;
    switch (this.phase) {
      case 'open':
        return b === 0x5d ? (this.node.min === 0 ? this.parent.resume() : null) : this.item(b);
      case 'comma':
        return this.item(b);
      case 'next':
        if (b === 0x2c) return this.count < this.node.max ? this.to('comma') : null;
        return b === 0x5d && this.count >= this.node.min ? this.parent.resume() : null;
      default:
        return null;
    }
  }

  resume(): Frame {
    return this.to('next', this.count + 1);
  }

  cost(): number {
    const m = this.node.items.minLen;
    switch (this.phase) {
      case 'open':
        return (this.node.min === 0 ? 1 : m + this.closeCost(1)) + this.after;
      case 'comma':
        return m + this.closeCost(this.count + 1) + this.after;
      case 'next':
        return this.closeCost(this.count) + this.after;
      default:
        return this.after;
    }
  }

  key(): string {
    return stackKey(`A${this.node.id}${this.phase}${this.count},${this.ws}`, this.parent);
  }
}

/** The document is complete: nothing may follow. */
export function isDone(f: Frame): boolean {
  return f instanceof RootFrame && f.done;
}

/** The document may end here (it is done, or a top-level number/literal could end now). */
export function mayEnd(f: Frame): boolean {
  return isDone(f) || (f.parent instanceof RootFrame && f.canEnd?.() === true);
}
