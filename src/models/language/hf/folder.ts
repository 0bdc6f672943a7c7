/**
 * Write a decoder as a Hugging Face model folder, the layout optimum and transformers.js publish:
 *
 *   config.json              architecture and sizes (model_type `llama` / `gpt2`, bos/eos ids)
 *   generation_config.json   generation defaults; `eos_token_id` may be a list
 *   tokenizer.json           the tokenizer (`tokenizers` format)
 *   tokenizer_config.json    special tokens and the `chat_template`
 *   special_tokens_map.json  special tokens by role
 *   onnx/model.onnx          the graph (see layout.ts)
 *
 * and, when asked: `onnx/model.onnx_data` (external weights), `chat_template.jinja`, extra files
 * such as onnxruntime-genai's `genai_config.json` (whose folders keep the graph at `model.onnx`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HfTokenizer } from './tokenizer';

/** ChatML, as Qwen and SmolLM publish it: `<|im_start|>role\ncontent<|im_end|>\n` per message. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface SpecialTokens {
  /** Absent for a vocabulary without them (a maas character vocabulary): written as null. */
  bos: string | null;
  eos: string | null;
  pad: string;
  /** Further special tokens listed as `additional_special_tokens`. */
  additional?: string[];
}

export interface HfFolder {
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  tokenizer: HfTokenizer;
  specialTokens: SpecialTokens;
  /** Jinja chat template for `tokenizer_config.json`, or none. */
  chatTemplate?: string;
  /** Longest input the tokenizer declares (`model_max_length`). */
  maxLength: number;
  onnx: Uint8Array;
  /** Where the graph goes (default `onnx/model.onnx`; onnxruntime-genai folders use `model.onnx`). */
  graphPath?: string;
  /** External weights, written beside the graph as `<graph file>_data` (the name the graph records). */
  onnxData?: Uint8Array;
  /** Written as `chat_template.jinja`, which overrides the config's `chat_template` (newer transformers). */
  chatTemplateFile?: string;
  /** Further files, e.g. `genai_config.json`. */
  extraFiles?: [string, string | Uint8Array][];
}

/** `tokenizer_config.json`: special tokens by role, every added token, the chat template. */
export function tokenizerConfig(f: HfFolder): Record<string, unknown> {
  const added = f.tokenizer.json.added_tokens as { id: number; content: string }[];
  return {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(
      added.map((t) => [
        String(t.id),
        {
          content: t.content,
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: true,
        },
      ]),
    ),
    additional_special_tokens: f.specialTokens.additional ?? [],
    bos_token: f.specialTokens.bos,
    eos_token: f.specialTokens.eos,
    pad_token: f.specialTokens.pad,
    unk_token: null,
    ...(f.chatTemplate === undefined ? {} : { chat_template: f.chatTemplate }),
    clean_up_tokenization_spaces: false,
    model_max_length: f.maxLength,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** The folder's files, relative paths → contents, in the order they are written. */
export function hfFolderFiles(f: HfFolder): [string, string | Uint8Array][] {
  const files: [string, string | Uint8Array][] = [
    ['config.json', json(f.config)],
    ['generation_config.json', json(f.generationConfig)],
    ['tokenizer.json', json(f.tokenizer.json)],
    ['tokenizer_config.json', json(tokenizerConfig(f))],
    [
      'special_tokens_map.json',
      json({
        bos_token: f.specialTokens.bos,
        eos_token: f.specialTokens.eos,
        pad_token: f.specialTokens.pad,
        ...(f.specialTokens.additional ? { additional_special_tokens: f.specialTokens.additional } : {}),
      }),
    ],
  ];
  const graph = f.graphPath ?? 'onnx/model.onnx';
  files.push([graph, f.onnx]);
  if (f.onnxData) files.push([`${graph}_data`, f.onnxData]);
  if (f.chatTemplateFile !== undefined) files.push(['chat_template.jinja', f.chatTemplateFile]);
  return [...files, ...(f.extraFiles ?? [])];
}

/** Write the folder under `dir` (created if missing); returns the paths written, relative to it. */
export async function writeHfFolder(dir: string, f: HfFolder): Promise<string[]> {
  const files = hfFolderFiles(f);
  for (const [path, data] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data);
  }
  return files.map(([path]) => path);
}
