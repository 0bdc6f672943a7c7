/**
 * A `multipart/form-data` upload, as the OpenAI SDK's `files.create` sends it: small text fields
 * (`purpose`) and ONE file part, streamed to `onFile` as it arrives (never buffered whole). Parts
 * may come in any order; the SDK sends `file` before `purpose`, curl in the order of its `-F`s.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import Busboy, { type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { fail, MaasError } from '../../common/errors';

/** Form field limits: OpenAI's fields are short words (`fine-tune`). */
const LIMITS = { fields: 8, fieldSize: 1024, files: 1, parts: 16, headerPairs: 32 };
/** Filenames are shown back, never used as paths: keep them short and printable. */
const MAX_FILENAME = 255;

export interface UploadedPart {
  /** The client's file name, control characters removed (display only). */
  filename: string;
  stream: Readable;
}

export interface FormUpload<T> {
  fields: Record<string, string>;
  /** What `onFile` returned; undefined when the form had no file part. */
  file: T | undefined;
}

function cleanFilename(raw: string | undefined): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const name = (raw ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_FILENAME);
  return name === '' ? 'upload' : name;
}

/**
 * Parse the form from `body` (the raw request stream). `onFile` must consume the stream it gets;
 * the form settles once the body has been read and `onFile`'s promise has settled.
 */
export function readForm<T>(
  headers: IncomingHttpHeaders,
  body: Readable,
  onFile: (part: UploadedPart) => Promise<T>,
): Promise<FormUpload<T>> {
  let parser: BusboyInstance;
  try {
    parser = Busboy({ headers: headers as BusboyHeaders, limits: LIMITS });
  } catch {
    fail('unsupported_media_type', 'send the file as multipart/form-data with a boundary');
  }
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Promise<T> | undefined;
    let fileStream: Readable | undefined;
    let error: unknown;
    let finished = false;
    // After a problem the rest of the body is still parsed (within LIMITS) and thrown away, so
    // the parser finishes and the client gets its answer on a clean connection.
    const stop = (e: unknown) => {
      error ??= e;
      fileStream?.resume();
    };
    const finish = async () => {
      if (finished) return;
      finished = true;
      const settled = file ? await file.then((v) => ({ v }), stop) : undefined;
      if (error) reject(error);
      else resolve({ fields, file: settled?.v });
    };
    const abandon = (e: unknown) => {
      // The body broke (client gone, bad framing): the file consumer must not wait for more.
      fileStream?.destroy(e instanceof Error ? e : new Error('the upload ended early'));
      stop(e);
      body.unpipe(parser);
      body.resume();
      void finish();
    };
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) stop(new MaasError('invalid_request', `the form field '${name}' is too long`));
      else fields[name] = value;
    });
    const malformed = (e: unknown) =>
      new MaasError('invalid_request', `malformed multipart body: ${(e as Error).message}`);
    parser.on('file', (name, stream, filename) => {
      // A part cut short (the body ends before its boundary) errors its stream; unheard, that
      // error would be thrown out of the event loop and end the server (found by the API fuzzer).
      stream.on('error', (e) => abandon(malformed(e)));
      if (name !== 'file' || file) {
        stream.resume();
        stop(new MaasError('invalid_request', 'send exactly one file, in the form field "file"'));
        return;
      }
      fileStream = stream;
      file = onFile({ filename: cleanFilename(filename), stream });
      file.catch(stop);
    });
    const tooMany = () => stop(new MaasError('invalid_request', 'too many parts in the form'));
    parser.on('partsLimit', tooMany);
    parser.on('filesLimit', tooMany);
    parser.on('fieldsLimit', tooMany);
    parser.on('error', (e: unknown) => abandon(malformed(e)));
    parser.on('finish', () => void finish());
    body.on('error', abandon);
    body.on('close', () => {
      if (!body.readableEnded) abandon(new MaasError('client_closed', 'the client closed the upload'));
    });
    body.pipe(parser);
  });
}
