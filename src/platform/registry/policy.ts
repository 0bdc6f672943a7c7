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

/**
 * The uploaded folder a graph sits in: external data may be read only from its files. `graph` and
 * `files` are `/`-separated paths relative to the folder's root (`onnx/model.onnx`).
 */
export interface GraphFolder {
  graph: string;
  files: ReadonlySet<string>;
}

/**
 * The folder path an external-data `location` names, resolved against the graph's own folder as
 * ONNX Runtime does. Absolute, escaping (`../`) or missing locations are refused by name
 * (CVE-2022-25882, CVE-2024-27318: external data that reads files outside the model).
 */
export function externalDataPath(location: string, folder: GraphFolder): string {
  const shown = `'${location.slice(0, 120)}'`;
  if (location === '') fail('invalid_model', 'an external tensor names no data location');
  if (
    location.includes('\0') ||
    location.startsWith('/') ||
    location.includes('\\') ||
    /^[a-zA-Z]:/.test(location)
  )
    fail(
      'invalid_model',
      `external data location ${shown} is absolute: it must be a file of the uploaded folder`,
    );
  const parts = folder.graph.split('/').slice(0, -1);
  for (const part of location.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0)
        fail('invalid_model', `external data location ${shown} escapes the uploaded folder`);
      parts.pop();
    } else parts.push(part);
  }
  const path = parts.join('/');
  if (!folder.files.has(path))
    fail('invalid_model', `external data location ${shown} is missing from the uploaded folder`);
  return path;
}

/**
 * Decode and check; throws a catalog error (`invalid_model` / `unsupported_model`) on refusal.
 * External data is refused unless the graph came in a folder, and then read only from its files.
 */
export function inspectModel(bytes: Uint8Array, folder?: GraphFolder): OnnxModelInfo {
  let info: OnnxModelInfo;
  try {
    info = decodeModel(bytes);
  } catch (e) {
    if (e instanceof OnnxDecodeError) fail('invalid_model', `not an ONNX model (${e.message})`);
    throw e;
  }
  if (info.externalTensors.length > 0 && folder) {
    for (const location of info.externalLocations) externalDataPath(location, folder);
  } else if (info.externalTensors.length > 0) {
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
    // External tensors hold their bytes in a folder file (ORT checks its length when it loads).
    if (per > 0 && !t.external && ['float32', 'float64'].includes(t.elemType) && t.storedBytes < want) {
      fail(
        'invalid_model',
        `initializer '${t.name.slice(0, 80)}' holds ${t.storedBytes} bytes, its dims need ${want}`,
      );
    }
  }
  return info;
}
