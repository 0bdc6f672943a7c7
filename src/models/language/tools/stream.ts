/**
 * Tool calls read from a model's output while it streams, as OpenAI streams them: for each call
 * its index and name first, then its arguments in fragments as the model writes them. Text that
 * may still turn out to be a call (a partial `<tool_call>`, or output that begins with `{`) is
 * held back until it is clear; text that is not a call goes out as content.
 *
 *   const s = new ToolCallStream(new Set(['get_weather']));
 *   for (const delta of deltas) send(s.push(delta));   // events: content | call | arguments
 *   send(s.end());
 *
 * Openers recognised mid-text: `<tool_call>` (Hermes/Qwen), `[TOOL_CALLS]` (Mistral),
 * `<|python_tag|>` and `<function=NAME>` (Llama 3.1); plain JSON calls only at the very start.
 * Anything these cannot read incrementally (e.g. Mistral v11's `name[ARGS]{...}`) is collected and
 * given to `parseToolCalls` at the end.
 */
import { callsIn, parseToolCalls } from './parse';
import { argumentsText, scanCall, skipWs } from './scan';

export type ToolStreamEvent =
  | { type: 'content'; text: string }
  | { type: 'call'; index: number; name: string }
  | { type: 'arguments'; index: number; text: string };

interface Opener {
  text: string;
  /** What ends the region of calls (null: the end of the output). */
  closer: string | null;
}

const OPENERS: readonly Opener[] = [
  { text: '<tool_call>', closer: '</tool_call>' },
  { text: '[TOOL_CALLS]', closer: null },
  { text: '<|python_tag|>', closer: null },
  { text: '<function=', closer: '</function>' },
];

interface Region {
  opener: Opener;
  /** Where the opener starts in the buffer (the region is content again if it is not a call). */
  at: number;
  /** Where the next call object is read from. */
  pos: number;
  /** `<function=NAME>`: the name from the tag; the body is the arguments alone. */
  fixedName?: string;
  /** Events were sent for the call being read. */
  started: boolean;
  /** Calls of this region sent in full. */
  calls: number;
  argsSent: number;
  /** Read whole at the end by parseToolCalls (a format not read incrementally). */
  atEnd: boolean;
}

export class ToolCallStream {
  private buf = '';
  /** Buffer index up to which everything was sent (as content or calls). */
  private sent = 0;
  private region: Region | null = null;
  private index = 0;
  /** Plain JSON at the start: not yet clear whether it is a call. */
  private undecided = true;
  private plain = false;

  constructor(private readonly known?: ReadonlySet<string>) {}

  push(delta: string): ToolStreamEvent[] {
    this.buf += delta;
    const out: ToolStreamEvent[] = [];
    for (let guard = 0; guard < 1000; guard++) {
      const before = `${this.sent}/${this.region?.pos}/${this.region?.argsSent}/${this.index}`;
      if (this.region) this.readRegion(out, false);
      else this.readText(out);
      if (before === `${this.sent}/${this.region?.pos}/${this.region?.argsSent}/${this.index}`) break;
    }
    return out;
  }

  end(): ToolStreamEvent[] {
    const out: ToolStreamEvent[] = [];
    if (this.region) this.readRegion(out, true);
    if (this.region) {
      const r = this.region;
      this.region = null;
      if (!r.started) {
        // Read what is left whole: the region from its opener, or after the calls already sent.
        const parsed =
          r.calls === 0
            ? parseToolCalls(this.buf.slice(r.at), this.known)
            : { content: null, toolCalls: callsIn(this.buf.slice(r.pos)) ?? [] };
        if (parsed.toolCalls.length === 0 && r.calls === 0) {
          out.push({ type: 'content', text: this.buf.slice(r.at) });
        } else {
          if (parsed.content) out.push({ type: 'content', text: parsed.content });
          for (const c of parsed.toolCalls) {
            out.push({ type: 'call', index: this.index, name: c.name });
            out.push({ type: 'arguments', index: this.index++, text: c.arguments });
          }
        }
      }
      this.sent = this.buf.length;
    }
    if (this.sent < this.buf.length) out.push({ type: 'content', text: this.buf.slice(this.sent) });
    this.sent = this.buf.length;
    return out;
  }

  private readText(out: ToolStreamEvent[]): void {
    if (this.undecided && !this.decideStart()) return;
    const text = this.buf;
    let first = -1;
    let opener: Opener | null = null;
    for (const o of OPENERS) {
      const k = text.indexOf(o.text, this.sent);
      if (k >= 0 && (first < 0 || k < first)) [first, opener] = [k, o];
    }
    if (opener) {
      if (first > this.sent) out.push({ type: 'content', text: text.slice(this.sent, first) });
      this.sent = first;
      this.openRegion(opener, first);
      return;
    }
    // Hold back a tail that may be the start of an opener.
    let hold = 0;
    for (const o of OPENERS) {
      for (let k = Math.min(o.text.length - 1, text.length - this.sent); k > hold; k--) {
        if (text.endsWith(o.text.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const upTo = text.length - hold;
    if (upTo > this.sent) out.push({ type: 'content', text: text.slice(this.sent, upTo) });
    this.sent = Math.max(this.sent, upTo);
  }

  /** At the start: does the output begin as a plain JSON call? False while that is unclear. */
  private decideStart(): boolean {
    const i = skipWs(this.buf, 0);
    if (i >= this.buf.length) return false;
    const m = /^(```(?:json)?\s*)?\[?\s*\{\s*("(?:[^"\\]|\\.)*")?/.exec(this.buf.slice(i));
    const start = this.buf[i];
    if (start !== '{' && start !== '[' && start !== '`') {
      this.undecided = false;
      return true;
    }
    if (!m || m[2] === undefined) {
      // Still inside the fence, the bracket or before the first key; or not JSON at all.
      const looksLikeStart = /^(`{1,3}(j(s(o(n)?)?)?)?\s*)?\[?\s*\{?\s*"?[^"]*$/.test(this.buf.slice(i));
      if (looksLikeStart && this.buf.length - i < 200) return false;
      this.undecided = false;
      return true;
    }
    this.undecided = false;
    if (!['"name"', '"arguments"', '"parameters"'].includes(m[2])) return true;
    this.plain = true;
    this.region = {
      opener: { text: '', closer: null },
      at: i,
      pos: i + (m[1]?.length ?? 0),
      started: false,
      calls: 0,
      argsSent: 0,
      atEnd: m[1] !== undefined || m[2] !== '"name"', // fenced, or the name comes later: read at the end
    };
    return false;
  }

  private openRegion(opener: Opener, at: number): void {
    this.region = {
      opener,
      at,
      pos: at + opener.text.length,
      started: false,
      calls: 0,
      argsSent: 0,
      atEnd: false,
    };
  }

  private readRegion(out: ToolStreamEvent[], ending: boolean): void {
    const r = this.region!;
    if (r.atEnd) return;
    const text = this.buf;
    if (r.opener.text === '<function=' && r.fixedName === undefined) {
      const close = text.indexOf('>', r.pos);
      if (close < 0) return;
      r.fixedName = text.slice(r.pos, close);
      r.pos = close + 1;
      this.emitCall(out, r, r.fixedName);
    }
    let i = skipWs(text, r.pos);
    while (i < text.length && (text[i] === '[' || text[i] === ',' || text[i] === ';' || text[i] === ']'))
      i = skipWs(text, i + 1);
    if (r.opener.closer && text.startsWith(r.opener.closer, i)) {
      this.closeRegion(i + r.opener.closer.length);
      return;
    }
    if (r.fixedName !== undefined) {
      this.readFixedArgs(out, r, i, ending);
      return;
    }
    if (i >= text.length || (r.opener.closer?.startsWith(text.slice(i)) ?? false)) return;
    if (text[i] !== '{') {
      r.atEnd = true; // e.g. Mistral v11 `name[ARGS]{...}`
      return;
    }
    // A call never runs past its region's closer.
    const limit = r.opener.closer ? text.indexOf(r.opener.closer, i) : -1;
    const c = scanCall(limit >= 0 ? text.slice(0, limit) : text, i);
    if (c.invalid || (limit >= 0 && c.end === undefined)) {
      if (!r.started) r.atEnd = true;
      else {
        // Broken after its name was sent: the call ends there, the region is skipped.
        this.index++;
        this.closeRegion(limit >= 0 ? limit + r.opener.closer!.length : text.length);
      }
      return;
    }
    if (!r.started && c.name !== undefined) {
      if (this.plain && this.known && !this.known.has(c.name)) {
        r.atEnd = true; // JSON that names no tool: decided at the end
        return;
      }
      this.emitCall(out, r, c.name);
    }
    if (r.started && c.argsStart !== undefined && text[c.argsStart] !== '"') {
      const upTo = c.argsEnd ?? text.length;
      const from = c.argsStart + r.argsSent;
      if (upTo > from) {
        out.push({ type: 'arguments', index: this.index, text: text.slice(from, upTo) });
        r.argsSent += upTo - from;
      }
    }
    if (c.end === undefined) return;
    if (!r.started) {
      r.atEnd = true;
      return;
    }
    if (c.argsStart !== undefined && text[c.argsStart] === '"')
      out.push({
        type: 'arguments',
        index: this.index,
        text: argumentsText(text.slice(c.argsStart, c.argsEnd)),
      });
    else if (c.argsStart === undefined) out.push({ type: 'arguments', index: this.index, text: '{}' });
    this.index++;
    r.calls++;
    r.pos = c.end;
    r.started = false;
    r.argsSent = 0;
  }

  /** `<function=NAME>{...}</function>`: everything up to the closer is the arguments. */
  private readFixedArgs(out: ToolStreamEvent[], r: Region, i: number, ending: boolean): void {
    const closer = r.opener.closer!;
    const at = this.buf.indexOf(closer, i);
    let upTo = at >= 0 ? at : this.buf.length;
    if (at < 0 && !ending) {
      for (let k = Math.min(closer.length - 1, upTo - i); k > 0; k--) {
        if (this.buf.endsWith(closer.slice(0, k))) {
          upTo -= k;
          break;
        }
      }
    }
    const from = r.pos + r.argsSent;
    if (upTo > from) {
      const piece = this.buf.slice(from, upTo);
      out.push({ type: 'arguments', index: this.index, text: r.argsSent === 0 ? piece.trimStart() : piece });
      r.argsSent += upTo - from;
    }
    if (at >= 0) {
      this.index++;
      this.closeRegion(at + closer.length);
    }
  }

  private emitCall(out: ToolStreamEvent[], r: Region, name: string): void {
    out.push({ type: 'call', index: this.index, name });
    r.started = true;
    r.argsSent = 0;
  }

  private closeRegion(end: number): void {
    this.region = null;
    this.sent = end;
  }
}
