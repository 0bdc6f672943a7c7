/**
 * A route handler's answer as a prediction's output. JSON answers are kept as they are, except
 * large binary parts, which become files of the prediction (content-addressed artifacts, served
 * at `/api/v1/predictions/{id}/files/{n}`): a WAV (speak) or binary tensors (infer) answer, and
 * each image of `imagine` (`png_base64` → `url`). A streamed generation (SSE) is read event by
 * event: each `delta` goes to `onToken` as it comes; `done` completes the output; `error` fails it.
 */
import { Readable } from 'node:stream';
import { MaasError } from '../../common/errors';
import type { ArtifactStore } from '../../platform/artifacts/artifacts';

export interface PredictionFile {
  digest: string;
  contentType: string;
  bytes: number;
}

export interface ShapedOutput {
  output: unknown;
  files: PredictionFile[];
}

export const fileUrl = (id: string, n: number) => `/api/v1/predictions/${id}/files/${n}`;

async function keep(store: ArtifactStore, bytes: Buffer, contentType: string): Promise<PredictionFile> {
  const staged = await store.stage(Readable.from([bytes]), bytes.length + 1);
  await store.commit(staged);
  return { digest: staged.digest, contentType, bytes: bytes.length };
}

/** JSON, or a binary answer / images moved to files. */
export async function shapeAnswer(
  answer: unknown,
  contentType: string | undefined,
  id: string,
  store: ArtifactStore,
): Promise<ShapedOutput> {
  if (Buffer.isBuffer(answer)) {
    const file = await keep(store, answer, contentType ?? 'application/octet-stream');
    return {
      output: { url: fileUrl(id, 0), content_type: file.contentType, bytes: file.bytes },
      files: [file],
    };
  }
  const images = (answer as { images?: { png_base64?: string }[] } | null)?.images;
  if (Array.isArray(images) && images.every((i) => typeof i?.png_base64 === 'string')) {
    const files: PredictionFile[] = [];
    for (const image of images)
      files.push(await keep(store, Buffer.from(image.png_base64 as string, 'base64'), 'image/png'));
    return {
      output: {
        ...(answer as Record<string, unknown>),
        images: files.map((f, n) => ({ url: fileUrl(id, n), content_type: f.contentType, bytes: f.bytes })),
      },
      files,
    };
  }
  return { output: answer, files: [] };
}

interface Choice {
  index: number;
  text: string;
  finish_reason?: string;
}

/** The text so far of a streamed generation, per choice. */
export interface StreamedText {
  choices: Choice[];
}

/** Reads the native generate route's SSE: `delta` {index, text}, then `done` or `error`. */
export async function readGeneration(
  stream: Readable,
  onToken: (index: number, text: string, sofar: StreamedText) => void,
): Promise<Record<string, unknown>> {
  const sofar: StreamedText = { choices: [] };
  let buffered = '';
  for await (const chunk of stream) {
    buffered += String(chunk);
    let end = buffered.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\n\n');
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null');
      if (event === 'delta') {
        sofar.choices[data.index] ??= { index: data.index, text: '' };
        const choice = sofar.choices[data.index];
        choice.text += data.text;
        onToken(data.index, data.text, sofar);
      } else if (event === 'done') {
        const choices = (data.choices as Choice[]).map((c) => ({
          index: c.index,
          text: sofar.choices[c.index]?.text ?? '',
          finish_reason: c.finish_reason,
        }));
        return { ...data, choices };
      } else if (event === 'error') {
        throw new MaasError(data.code ?? 'internal', data.detail ?? 'the generation failed');
      }
    }
  }
  throw new MaasError('internal', 'the generation ended without an answer');
}
