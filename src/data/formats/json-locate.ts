/**
 * Where a JSON text first goes wrong, as a 0-based offset, or -1 when it is valid. V8's
 * `JSON.parse` messages give a position only for some errors, so JSONL errors use this small
 * recursive-descent scanner to name the column. It validates; it builds nothing.
 */
export function jsonErrorOffset(text: string): number {
  const s = new Scanner(text);
  try {
    s.ws();
    s.value(0);
    s.ws();
    if (s.i !== text.length) throw s.i;
    return -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

const MAX_DEPTH = 512;

class Scanner {
  i = 0;
  constructor(private readonly t: string) {}

  ws(): void {
    while (this.i < this.t.length && ' \t\n\r'.includes(this.t[this.i])) this.i++;
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) throw this.i;
    const c = this.t[this.i];
    if (c === '{') this.object(depth);
    else if (c === '[') this.array(depth);
    else if (c === '"') this.string();
    else if (c === '-' || (c >= '0' && c <= '9')) this.number();
    else this.literal();
  }

  private literal(): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.t.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    throw this.i;
  }

  private object(depth: number): void {
    this.i++;
    this.ws();
    if (this.t[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.t[this.i] !== '"') throw this.i;
      this.string();
      this.ws();
      if (this.t[this.i] !== ':') throw this.i;
      this.i++;
      this.ws();
      this.value(depth + 1);
      this.ws();
      const c = this.t[this.i];
      this.i++;
      if (c === '}') return;
      if (c !== ',') throw this.i - 1;
    }
  }

  private array(depth: number): void {
    this.i++;
    this.ws();
    if (this.t[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      this.value(depth + 1);
      this.ws();
      const c = this.t[this.i];
      this.i++;
      if (c === ']') return;
      if (c !== ',') throw this.i - 1;
    }
  }

  private string(): void {
    this.i++;
    while (this.i < this.t.length) {
      const c = this.t[this.i];
      if (c === '"') {
        this.i++;
        return;
      }
      if (c < ' ') throw this.i;
      if (c === '\\') {
        const e = this.t[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.t.slice(this.i + 2, this.i + 6))) throw this.i;
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw this.i;
        this.i += 2;
        continue;
      }
      this.i++;
    }
    throw this.i;
  }

  private number(): void {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.t.slice(this.i, this.i + 400));
    if (!m || m[0] === '' || m[0] === '-') throw this.i;
    this.i += m[0].length;
  }
}
