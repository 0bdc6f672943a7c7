/**
 * A JSON Schema subset compiled to the value grammar that constrained decoding walks (frames.ts).
 *
 * Supported keywords (anything else is refused with `invalid_request` naming the keyword and
 * where it stands, e.g. `response_format.json_schema.schema.properties.age: keyword "minimum" is
 * not supported`):
 *   type: object | array | string | number | integer | boolean | null, or a list of those
 *   properties, required, additionalProperties (see below), items, minItems, maxItems,
 *   enum, const (any JSON values), anyOf (branches that begin with different characters,
 *   e.g. a string or null), and the annotations title, description, $schema, $id, default,
 *   examples, $comment, strict.
 *
 * What is generated: an object's declared properties in the order of `properties`, each at most
 * once, every `required` one present; other keys are never written, whatever additionalProperties
 * says (the output still validates against true, false or a schema). An object schema without
 * `properties` takes any string keys, their values following additionalProperties (a schema)
 * or any JSON value. A schema with no `type` (e.g. `{}`) is any JSON value.
 */
import { fail } from '../../../common/errors';

/** Bytes of a JSON text as a string of char codes 0..255, so byte matching is charCodeAt. */
export type ByteText = string;

export interface Property {
  /** The key as written, quotes included: `"name"` (UTF-8 bytes). */
  key: ByteText;
  node: ValueNode;
  required: boolean;
}

export type ValueNode =
  | { kind: 'string'; id: number; minLen: number }
  | { kind: 'number'; id: number; minLen: number; integer: boolean }
  | { kind: 'literal'; id: number; minLen: number; texts: ByteText[] }
  | {
      kind: 'object';
      id: number;
      minLen: number;
      props: Property[];
      extra: ValueNode | null;
      /**
       * A tagged union of objects: `props` is just the tag (the first property of every variant),
       * and the tag's value, once written, picks the variant that the rest of the object follows.
       */
      variants?: Map<ByteText, ObjectNode>;
    }
  | { kind: 'array'; id: number; minLen: number; items: ValueNode; min: number; max: number }
  | { kind: 'union'; id: number; minLen: number; branches: ValueNode[] };

export type ObjectNode = Extract<ValueNode, { kind: 'object' }>;

/** Most items an array may be asked to hold at least (minItems), so the grammar stays small. */
export const MAX_MIN_ITEMS = 64;
/** Deepest nesting of schemas accepted. */
export const MAX_SCHEMA_DEPTH = 32;
const MAX_NODES = 10_000;

const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', 'default', 'examples', '$comment']);
const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
const KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'anyOf',
]);

const utf8 = new TextEncoder();

export function byteText(text: string): ByteText {
  return String.fromCharCode(...utf8.encode(text));
}

type Schema = Record<string, unknown>;

class Compiler {
  private nextId = 0;
  constructor(private readonly where: string) {}

  private id(): number {
    if (this.nextId >= MAX_NODES) fail('invalid_request', `${this.where}: the schema is too large`);
    return this.nextId++;
  }

  refuse(path: string, why: string): never {
    return fail('invalid_request', `${this.where}${path}: ${why}`, { pointer: `${this.where}${path}` });
  }

  compile(schema: unknown, path: string, depth: number): ValueNode {
    if (depth > MAX_SCHEMA_DEPTH) this.refuse(path, `nesting deeper than ${MAX_SCHEMA_DEPTH} levels`);
    if (schema === true) return this.any(depth);
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
      this.refuse(path, 'a schema must be a JSON object');
    const s = schema as Schema;
    for (const key of Object.keys(s)) {
      if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key) && key !== 'strict')
        this.refuse(path, `keyword "${key}" is not supported`);
    }
    if (s.const !== undefined) return this.literal([s.const], `${path}.const`);
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0)
        this.refuse(`${path}.enum`, 'must be a non-empty list');
      return this.literal(s.enum, `${path}.enum`);
    }
    if (s.anyOf !== undefined) {
      if (!Array.isArray(s.anyOf) || s.anyOf.length === 0)
        this.refuse(`${path}.anyOf`, 'must be a non-empty list of schemas');
      const branches = s.anyOf.map((b, i) => this.compile(b, `${path}.anyOf[${i}]`, depth + 1));
      return this.union(branches, `${path}.anyOf`);
    }
    const type = s.type;
    if (type === undefined) return this.any(depth);
    const types = Array.isArray(type) ? type : [type];
    if (types.length === 0) this.refuse(`${path}.type`, 'must name at least one type');
    for (const t of types) {
      if (typeof t !== 'string' || !TYPES.has(t))
        this.refuse(`${path}.type`, `must be one of ${[...TYPES].join(', ')} (or a list of them)`);
    }
    const nodes = [...new Set(types as string[])].map((t) => this.typed(t, s, path, depth));
    return nodes.length === 1 ? nodes[0] : this.union(nodes, `${path}.type`);
  }

  private typed(type: string, s: Schema, path: string, depth: number): ValueNode {
    switch (type) {
      case 'string':
        return { kind: 'string', id: this.id(), minLen: 2 };
      case 'number':
      case 'integer':
        return { kind: 'number', id: this.id(), minLen: 1, integer: type === 'integer' };
      case 'boolean':
        return this.literal([true, false], path);
      case 'null':
        return this.literal([null], path);
      case 'array':
        return this.array(s, path, depth);
      default:
        return this.object(s, path, depth);
    }
  }

  literal(values: unknown[], path: string): ValueNode {
    const texts = [...new Set(values.map((v) => byteText(JSON.stringify(v))))];
    if (texts.some((t) => t === undefined)) this.refuse(path, 'values must be JSON');
    return { kind: 'literal', id: this.id(), minLen: Math.min(...texts.map((t) => t.length)), texts };
  }

  private array(s: Schema, path: string, depth: number): ValueNode {
    const min = this.count(s.minItems, `${path}.minItems`, 0);
    const max = this.count(s.maxItems, `${path}.maxItems`, Number.POSITIVE_INFINITY);
    if (min > MAX_MIN_ITEMS) this.refuse(`${path}.minItems`, `at most ${MAX_MIN_ITEMS}`);
    if (max < min) this.refuse(`${path}.maxItems`, 'is smaller than minItems');
    if (Array.isArray(s.items))
      this.refuse(`${path}.items`, 'tuple items (a list of schemas) are not supported');
    const items = s.items === undefined ? this.any(depth) : this.compile(s.items, `${path}.items`, depth + 1);
    const minLen = 2 + (min > 0 ? min * items.minLen + (min - 1) : 0);
    return { kind: 'array', id: this.id(), minLen, items, min, max };
  }

  private count(v: unknown, path: string, fallback: number): number {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      this.refuse(path, 'must be a non-negative integer');
    return v;
  }

  private object(s: Schema, path: string, depth: number): ValueNode {
    const raw = s.properties;
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
      this.refuse(`${path}.properties`, 'must be an object of schemas');
    const required = s.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string'))
      this.refuse(`${path}.required`, 'must be a list of property names');
    const names = Object.keys((raw ?? {}) as Schema);
    for (const r of required as string[]) {
      if (!names.includes(r)) this.refuse(`${path}.required`, `names "${r}", which is not in properties`);
    }
    const extraSchema = s.additionalProperties;
    if (extraSchema !== undefined && typeof extraSchema !== 'boolean')
      this.compile(extraSchema, `${path}.additionalProperties`, depth + 1); // checked even when unused
    const props = names.map((name) => ({
      key: byteText(JSON.stringify(name)),
      node: this.compile((raw as Schema)[name], `${path}.properties.${name}`, depth + 1),
      required: (required as string[]).includes(name),
    }));
    let extra: ValueNode | null = null;
    if (names.length === 0 && extraSchema !== false)
      extra =
        extraSchema === undefined || extraSchema === true
          ? this.any(depth)
          : this.compile(extraSchema, `${path}.additionalProperties`, depth + 1);
    const req = props.filter((p) => p.required);
    const minLen =
      2 + req.reduce((n, p) => n + p.key.length + 1 + p.node.minLen, 0) + Math.max(0, req.length - 1);
    return { kind: 'object', id: this.id(), minLen, props, extra };
  }

  /**
   * Branches must differ in their first character, so the first byte picks one; several object
   * branches are allowed when their first property is the same required key with a const or enum
   * value that tells them apart (`{"name": "get_weather", "arguments": ...}`), see `tagged`.
   */
  private union(branches: ValueNode[], path: string): ValueNode {
    const objects = branches.filter((b): b is ObjectNode => b.kind === 'object');
    if (objects.length > 1)
      branches = [...branches.filter((b) => b.kind !== 'object'), this.tagged(objects, path)];
    const owner = new Map<number, number>();
    branches.forEach((b, i) => {
      for (const byte of firstBytes(b)) {
        const j = owner.get(byte);
        if (j !== undefined && j !== i)
          this.refuse(path, 'alternatives must begin with different characters (e.g. a string or null)');
        owner.set(byte, i);
      }
    });
    return { kind: 'union', id: this.id(), minLen: Math.min(...branches.map((b) => b.minLen)), branches };
  }

  private tagged(objects: ObjectNode[], path: string): ObjectNode {
    const why =
      'alternatives must begin with different characters, or be objects whose first property is the same required key with different const values';
    const tag = objects[0].props[0];
    const variants = new Map<ByteText, ObjectNode>();
    for (const o of objects) {
      const first = o.props[0];
      if (!first?.required || first.key !== tag.key || first.node.kind !== 'literal' || o.variants)
        this.refuse(path, why);
      for (const text of first.node.texts) {
        if (variants.has(text)) this.refuse(path, why);
        variants.set(text, o);
      }
    }
    const texts = [...variants.keys()];
    const tagNode: ValueNode = {
      kind: 'literal',
      id: this.id(),
      minLen: Math.min(...texts.map((t) => t.length)),
      texts,
    };
    return {
      kind: 'object',
      id: this.id(),
      minLen: Math.min(...objects.map((o) => o.minLen)),
      props: [{ key: tag.key, node: tagNode, required: true }],
      extra: null,
      variants,
    };
  }

  /** Any JSON value: objects with any keys, arrays of anything, strings, numbers, literals. */
  private any(depth: number): ValueNode {
    if (depth > MAX_SCHEMA_DEPTH) this.refuse('', 'too deep');
    const node: ValueNode = { kind: 'union', id: this.id(), minLen: 1, branches: [] };
    const object: ValueNode = { kind: 'object', id: this.id(), minLen: 2, props: [], extra: node };
    const array: ValueNode = { kind: 'array', id: this.id(), minLen: 2, items: node, min: 0, max: Infinity };
    node.branches.push(
      object,
      array,
      { kind: 'string', id: this.id(), minLen: 2 },
      { kind: 'number', id: this.id(), minLen: 1, integer: false },
      this.literal([true, false, null], ''),
    );
    return node;
  }
}

const DIGITS = '-0123456789';

/** Bytes a value of `node` may begin with. */
export function firstBytes(node: ValueNode): number[] {
  switch (node.kind) {
    case 'string':
      return [0x22];
    case 'number':
      return Array.from(DIGITS, (c) => c.charCodeAt(0));
    case 'literal':
      return [...new Set(node.texts.map((t) => t.charCodeAt(0)))];
    case 'object':
      return [0x7b];
    case 'array':
      return [0x5b];
    case 'union':
      return node.branches.flatMap(firstBytes);
  }
}

/**
 * Compile `schema`; errors name `where` (e.g. `response_format.json_schema.schema`) and the path
 * inside the schema. `{type:'json_object'}` is `compileSchema({type:'object'}, ...)`.
 */
export function compileSchema(schema: unknown, where: string): ValueNode {
  return new Compiler(where).compile(schema, '', 0);
}
