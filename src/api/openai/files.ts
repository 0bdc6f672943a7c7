/**
 * OpenAI's `/v1/files`, translated onto maas datasets: a file IS a dataset of the caller's tenant
 * (its id is the dataset name), so an upload here trains with /api/v1/trainings too, and every
 * uploaded dataset lists here as a file. Only `purpose: "fine-tune"` is accepted; the file is
 * described at upload (format from content: OpenAI's chat or prompt/completion JSONL, CSV, TSV,
 * JSONL, text, IDX, image archives), so a file that cannot train is refused at once, and a file
 * that is listed is `processed`.
 *
 *   {"id": "file-3f9c...", "object": "file", "bytes": 2048, "created_at": 1764355200,
 *    "filename": "spam.jsonl", "purpose": "fine-tune", "status": "processed"}
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fail, isMaasError } from '../../common/errors';
import type { DatasetView } from '../../platform/training/datasets';
import type { RouteContext, RouteSpec } from '../route';
import { readForm } from './multipart';
import { cursorPage, listQuery, seconds } from './pages';

export const FILE_PURPOSE = 'fine-tune';
/** Purposes a client may upload: training data, or batch requests (kept as sent, undescribed). */
const UPLOAD_PURPOSES = [FILE_PURPOSE, 'batch'];
/** Multipart framing around the file (boundaries, part headers, the purpose field), in bytes. */
const FORM_OVERHEAD = 64 * 1024;

const owner = (ctx: RouteContext) => ctx.principal.tenantId;

export function fileObject(d: DatasetView) {
  return {
    id: d.name,
    object: 'file' as const,
    bytes: d.sizeBytes ?? 0,
    created_at: seconds(d.createdAt),
    filename: d.filename ?? d.name,
    // A batch's input and its output and error files are kept raw, under their own purpose.
    purpose: d.format === 'batch' || d.format === 'batch_output' ? d.format : FILE_PURPOSE,
    status: 'processed' as const,
    status_details: null,
    expires_at: null,
  };
}

/** The caller's uploaded dataset of that id (built-ins are not files); OpenAI-worded 404 else. */
async function ownFile(ctx: RouteContext, id: string): Promise<DatasetView> {
  const found = await ctx.platform.datasets.get(owner(ctx), id).catch((e: unknown) => {
    if (isMaasError(e) && e.code === 'not_found') return null;
    throw e;
  });
  if (!found || found.builtin) fail('not_found', `no such file: '${id}'`, { pointer: 'file_id' });
  return found;
}

async function createFile(ctx: RouteContext) {
  const declared = Number(ctx.request.headers['content-length']);
  const max = ctx.platform.config.maxDatasetBytes;
  if (Number.isFinite(declared) && declared > max + FORM_OVERHEAD)
    fail('payload_too_large', `files are limited to ${max} bytes`);
  const id = `file-${randomBytes(12).toString('hex')}`;
  // The SDK sends the file before `purpose`: the part is staged (in the datasets' folder) until
  // the purpose says whether it is training data (described, refused at once if it cannot
  // train) or batch requests (kept as sent).
  const form = await readForm(ctx.request.headers, ctx.body as Readable, async (part) => ({
    staged: await ctx.platform.datasets.hold(part.stream),
    filename: part.filename,
  }));
  const purpose = form.fields.purpose;
  const unknown = Object.keys(form.fields).find((k) => k !== 'purpose');
  const refuse = async (detail: string, pointer: string): Promise<never> => {
    if (form.file) await ctx.platform.datasets.release(form.file.staged);
    return fail('invalid_request', detail, { pointer });
  };
  // expires_after and the like: maas keeps files until they are deleted, and says so.
  if (unknown !== undefined)
    await refuse(`unknown form field '${unknown.slice(0, 50)}'`, unknown.slice(0, 50));
  if (purpose === undefined || !UPLOAD_PURPOSES.includes(purpose))
    await refuse(
      purpose === undefined
        ? "purpose is required ('fine-tune' or 'batch')"
        : `purpose '${purpose.slice(0, 50)}' is not supported: maas keeps files for fine-tuning ('fine-tune') and batches ('batch')`,
      'purpose',
    );
  if (!form.file)
    return fail('invalid_request', 'file is required (a multipart part named "file")', { pointer: 'file' });
  await ctx.platform.datasets.upload(owner(ctx), id, form.file.staged, undefined, {
    filename: form.file.filename,
    ...(purpose === 'batch' ? { raw: 'batch' as const } : {}),
  });
  return fileObject(await ctx.platform.datasets.get(owner(ctx), id));
}

async function listFiles(ctx: RouteContext) {
  const q = listQuery(ctx.query, 10_000, 10_000);
  const purpose = ctx.query.purpose;
  // Newest first by the creation time in ms (`created_at` is whole seconds: uploads tie).
  const files = (await ctx.platform.datasets.list(owner(ctx)))
    .filter((d) => !d.builtin && (purpose === undefined || fileObject(d).purpose === purpose))
    .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))
    .map(fileObject);
  if (q.order === 'asc') files.reverse();
  return cursorPage(files, q);
}

const base = { surface: 'openai' as const, body: 'none' as const, owned: 'file_id' };

export const fileRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'POST',
    path: '/v1/files',
    access: 'manage',
    body: 'multipart',
    audit: 'file.upload',
    summary:
      'OpenAI: upload a file (multipart file + purpose "fine-tune") → a dataset; chat or prompt/completion JSONL, CSV, JSONL, ...',
    handler: createFile,
  },
  {
    ...base,
    owned: null,
    method: 'GET',
    path: '/v1/files',
    access: 'infer',
    summary: 'OpenAI: list files (your uploaded datasets), newest first; after, limit, order, purpose',
    handler: listFiles,
  },
  {
    ...base,
    method: 'GET',
    path: '/v1/files/:file_id',
    access: 'infer',
    summary: 'OpenAI: one file',
    handler: async (ctx) => fileObject(await ownFile(ctx, ctx.params.file_id)),
  },
  {
    ...base,
    method: 'DELETE',
    path: '/v1/files/:file_id',
    access: 'manage',
    audit: 'file.delete',
    summary: 'OpenAI: delete a file (the dataset)',
    handler: async (ctx) => {
      const file = await ownFile(ctx, ctx.params.file_id);
      await ctx.platform.datasets.delete(owner(ctx), file.name);
      return { id: file.name, object: 'file', deleted: true };
    },
  },
  {
    ...base,
    method: 'GET',
    path: '/v1/files/:file_id/content',
    access: 'infer',
    summary: 'OpenAI: the file as it was uploaded',
    handler: async (ctx) => {
      const file = await ownFile(ctx, ctx.params.file_id);
      const { stream, sizeBytes } = await ctx.platform.datasets.open(owner(ctx), file.name);
      ctx.reply.header('content-type', 'application/octet-stream');
      ctx.reply.header('content-length', String(sizeBytes));
      return stream;
    },
  },
];
