/**
 * What an uploaded ONNX file must satisfy before ONNX Runtime is allowed to load it (docs/security.md
 * §8 and §6): a real ModelProto, no external data, no custom-op domains, no absurd dims,
 * initializers whose stored bytes match their declared dims.
 */
import { fail } from '../../common/errors';
import { decodeModel, OnnxDecodeError, type OnnxModelInfo, onnxElementTypes } from '../../engine/index';

/** Operator domains ONNX Runtime implements itself; anything else would need a custom-op library. */
export const allowedDomains: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);

/** Largest element count of any declared tensor (2^31: 8 GiB of float32). */
export const MAX_ELEMENTS = 2 ** 31;

const bytesPer = new Map(Object.values(onnxElementTypes).map((t) => [t.name, t.bytes]));

function checkDims(what: string, dims: readonly (number | string)[] | null): void {
  if (!dims) return;
  let count = 1;
  for (const d of dims) {
    if (typeof d !== 'number' || d === -1) continue;
    if (d < 0) fail('invalid_model', `${what} has a negative dimension ${d}`);
    count *= d;
  }
  if (count > MAX_ELEMENTS)
    fail('invalid_model', `${what} declares ${count} elements (limit ${MAX_ELEMENTS})`);
}

/** Decode and check; throws a catalog error (`invalid_model` / `unsupported_model`) on refusal. */
export function inspectModel(bytes: Uint8Array): OnnxModelInfo {
  let info: OnnxModelInfo;
  try {
    info = decodeModel(bytes);
  } catch (e) {
    if (e instanceof OnnxDecodeError) fail('invalid_model', `not an ONNX model (${e.message})`);
    throw e;
  }
  if (info.externalTensors.length > 0) {
    fail(
      'unsupported_model',
      `external tensor data is refused (tensor '${info.externalTensors[0].slice(0, 80)}')`,
    );
  }
  const local = new Set(info.functionDomains);
  // Only domains that nodes USE matter: exporters often import domains they never use
  // (Silero VAD imports ai.onnx.training).
  const custom = info.nodeDomains.filter((d) => !allowedDomains.has(d) && !local.has(d));
  if (custom.length > 0)
    fail('unsupported_model', `custom operator domain '${custom[0].slice(0, 80)}' is refused`);
  for (const v of [...info.inputs, ...info.outputs]) checkDims(`value '${v.name.slice(0, 80)}'`, v.shape);
  for (const t of info.initializers) {
    checkDims(`initializer '${t.name.slice(0, 80)}'`, t.dims);
    const per = bytesPer.get(t.elemType) ?? 0;
    const want = t.dims.reduce((n, d) => n * d, 1) * per;
    // Packed repeated fields can be shorter than raw bytes (varints), never much longer; a file
    // that stores fewer bytes than float32/64 dims demand is truncated or lying about its shape.
    if (per > 0 && ['float32', 'float64'].includes(t.elemType) && t.storedBytes < want) {
      fail(
        'invalid_model',
        `initializer '${t.name.slice(0, 80)}' holds ${t.storedBytes} bytes, its dims need ${want}`,
      );
    }
  }
  return info;
}
