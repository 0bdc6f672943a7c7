/**
 * Model versions as files other tools read. `GET /api/v1/models/{name}/versions/{version}/export`
 * answers a decoder version as a Hugging Face model folder in a .tar.gz (config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 * onnx/model.onnx) that `@huggingface/transformers` loads offline; `maas models export NAME DIR`
 * unpacks it. Reading a model is enough (a public model exports for every tenant, as its
 * weights already serve them).
 *
 * `GET /api/v1/models/{name}/versions/{version}/adapter` answers a LoRA-tuned version's adapter
 * alone, PEFT's layout in a .tar.gz (`adapter_config.json`, `adapter_model.safetensors`), which
 * `PeftModel.from_pretrained(base, dir)` applies to the base; `maas models export NAME DIR --adapter`.
 */
import { readFile } from 'node:fs/promises';
import { fail } from '../common/errors';
import { packTarGz } from '../data/formats/tar-pack';
import { hfFolderOfVersion } from '../models/language/hf/export';
import { hfFolderFiles } from '../models/language/hf/folder';
import { ADAPTER_CONFIG, ADAPTER_DIR, ADAPTER_WEIGHTS } from '../models/language/lora/index';
import { authorizedModel } from './model-ref';
import type { RouteSpec } from './route';

export const exportRoutes: RouteSpec[] = [
  {
    surface: 'native',
    body: 'none',
    owned: 'name',
    method: 'GET',
    path: '/api/v1/models/:name/versions/:version/export',
    access: 'infer',
    summary:
      'A decoder version (a number or an alias such as latest) as a Hugging Face model folder, application/gzip (.tar.gz) with config.json, tokenizer.json and onnx/model.onnx',
    handler: async (ctx) => {
      const registry = ctx.platform.registry;
      const ref = await authorizedModel(registry, ctx.principal, ctx.params.name, 'read');
      const version = await registry.resolve(ref.owner, ref.name, ctx.params.version);
      const folder = hfFolderOfVersion(await readFile(await registry.localPath(version)), version.metadata);
      const archive = await packTarGz(hfFolderFiles(folder));
      ctx.reply.header('content-type', 'application/gzip');
      ctx.reply.header(
        'content-disposition',
        `attachment; filename="${ref.name}-v${version.version}.tar.gz"`,
      );
      return archive;
    },
  },
  {
    surface: 'native',
    body: 'none',
    owned: 'name',
    method: 'GET',
    path: '/api/v1/models/:name/versions/:version/adapter',
    access: 'infer',
    summary:
      "A LoRA-tuned version's adapter alone, PEFT's layout: application/gzip (.tar.gz) with adapter_config.json and adapter_model.safetensors",
    handler: async (ctx) => {
      const registry = ctx.platform.registry;
      const ref = await authorizedModel(registry, ctx.principal, ctx.params.name, 'read');
      const version = await registry.resolve(ref.owner, ref.name, ctx.params.version);
      const files: [string, Uint8Array][] = [];
      for (const file of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
        const bytes = await registry.readFolderFile(version, `${ADAPTER_DIR}/${file}`);
        if (!bytes)
          fail(
            'not_found',
            `version ${version.version} of '${ref.name}' has no adapter: only versions LoRA-tuned by maas keep one`,
          );
        files.push([file, bytes]);
      }
      ctx.reply.header('content-type', 'application/gzip');
      ctx.reply.header(
        'content-disposition',
        `attachment; filename="${ref.name}-v${version.version}-adapter.tar.gz"`,
      );
      return packTarGz(files);
    },
  },
];
