/** /api/v1/datasets: upload (streamed, described, kept), list, show, delete. Problem+json errors. */
import type { Readable } from 'node:stream';
import type { RouteContext, RouteSpec } from './route';

const owner = (ctx: RouteContext) => ctx.principal.tenantId;

async function uploadDataset(ctx: RouteContext, name: string) {
  const declared = Number(ctx.request.headers['content-length']);
  const record = await ctx.platform.datasets.upload(
    owner(ctx),
    name,
    ctx.body as Readable,
    Number.isFinite(declared) ? declared : undefined,
  );
  ctx.reply.header('location', `/api/v1/datasets/${record.name}`);
  return ctx.platform.datasets.get(owner(ctx), record.name);
}

const base = { surface: 'native' as const, body: 'none' as const, owned: 'name' };

export const datasetRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'POST',
    path: '/api/v1/datasets',
    access: 'manage',
    body: 'binary',
    status: 201,
    audit: 'dataset.upload',
    summary:
      'Upload a dataset (?name=): CSV/TSV with a header, JSONL, text, IDX, or a zip/tar.gz of one folder per label, gzipped or not, as the body under any Content-Type (text/csv, application/gzip, … or none, as `curl -T` sends): the format is read from the bytes',
    handler: (ctx) => uploadDataset(ctx, ctx.query.name),
  },
  {
    ...base,
    owned: null,
    method: 'PUT',
    path: '/api/v1/datasets/:name',
    access: 'manage',
    body: 'binary',
    status: 201,
    audit: 'dataset.upload',
    summary:
      'Upload a dataset under this name (what `curl -T data.csv URL` does: PUT, no Content-Type); as POST /api/v1/datasets?name=',
    handler: (ctx) => uploadDataset(ctx, ctx.params.name),
  },
  {
    ...base,
    owned: null,
    method: 'GET',
    path: '/api/v1/datasets',
    access: 'infer',
    summary: 'List your datasets and the built-in ones',
    handler: async (ctx) => ({ datasets: await ctx.platform.datasets.list(owner(ctx)) }),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/datasets/:name',
    access: 'infer',
    summary: 'A dataset: schema, rows, class balance, preview',
    handler: (ctx) => ctx.platform.datasets.get(owner(ctx), ctx.params.name),
  },
  {
    ...base,
    method: 'DELETE',
    path: '/api/v1/datasets/:name',
    access: 'manage',
    status: 204,
    audit: 'dataset.delete',
    summary: 'Delete an uploaded dataset',
    handler: async (ctx) => {
      await ctx.platform.datasets.delete(owner(ctx), ctx.params.name);
    },
  },
];
