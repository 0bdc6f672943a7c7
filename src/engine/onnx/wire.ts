/**
 * Protocol-buffers wire format, the subset ONNX needs: varints, fixed 32/64-bit values and
 * length-delimited fields. Used by the ONNX writer (training export) and reader (upload checks).
 */
export const WireType = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

/** Append-only protobuf writer. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt(field) * 8n + BigInt(wire));
  }

  private rawVarint(value: bigint): void {
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes).
    let v = value < 0n ? value + (1n << 64n) : value;
    const out: number[] = [];
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v > 0n ? byte | 0x80 : byte);
    } while (v > 0n);
    this.push(Uint8Array.from(out));
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WireType.varint);
    this.rawVarint(BigInt(value));
    return this;
  }

  float32(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.bytes);
    this.rawVarint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  /**
   * A nested message written by another writer, its chunks appended without copying them (a
   * rewritten graph of hundreds of MB is copied once, by the outermost `finish`).
   */
  embed(field: number, inner: ProtoWriter): this {
    this.tag(field, WireType.bytes);
    this.rawVarint(BigInt(inner.length));
    for (const c of inner.chunks) this.push(c);
    return this;
  }

  /** A field as `readFields` read it, written back unchanged (copying what a rewrite leaves alone). */
  field(f: ProtoField): this {
    if (f.wire === WireType.varint) return this.varint(f.field, f.varint);
    if (f.wire === WireType.bytes) return this.bytes(f.field, f.bytes);
    this.tag(f.field, f.wire);
    this.push(f.bytes);
    return this;
  }

  /** Packed repeated varints (e.g. dims, ints attributes). */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(BigInt(v));
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

export interface ProtoField {
  field: number;
  wire: number;
  /** For varint fields. */
  varint: bigint;
  /** For bytes fields: a view into the source buffer (no copy); for fixed fields, the raw bytes. */
  bytes: Uint8Array;
}

/** Thrown for malformed protobuf input; callers map it to a 4xx. */
export class ProtoError extends Error {}

/** Iterate the fields of one message. Throws ProtoError on truncated or malformed input. */
export function* readFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new ProtoError('truncated varint');
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtoError('varint too long');
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > buf.length) throw new ProtoError('field runs past the end of the message');
    const view = buf.subarray(pos, pos + n);
    pos += n;
    return view;
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ProtoError('field number 0');
    if (wire === WireType.varint) yield { field, wire, varint: varint(), bytes: new Uint8Array(0) };
    else if (wire === WireType.fixed64) yield { field, wire, varint: 0n, bytes: take(8) };
    else if (wire === WireType.fixed32) yield { field, wire, varint: 0n, bytes: take(4) };
    else if (wire === WireType.bytes) {
      const len = varint();
      if (len > BigInt(buf.length)) throw new ProtoError('length past the end of the message');
      yield { field, wire, varint: 0n, bytes: take(Number(len)) };
    } else throw new ProtoError(`unsupported wire type ${wire}`);
  }
}

/** Decode packed varints (or a single unpacked one) into numbers. */
export function readPackedVarints(bytes: Uint8Array): bigint[] {
  const out: bigint[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new ProtoError('truncated packed varint');
      const byte = bytes[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
    }
    out.push(result);
  }
  return out;
}

/** Interpret a varint as a signed int64 (protobuf int64 is two's complement). */
export function asSigned64(v: bigint): bigint {
  return v >= 1n << 63n ? v - (1n << 64n) : v;
}
