/**
 * The decoders maas emits in the Hugging Face ONNX layout: transformers.js (offline) loads the
 * folders and generates the same greedy tokens as a plain loop over our graph; the KV cache gives
 * the logits of a full re-run; a left-padded row gives the logits of the unpadded one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer } from '../../../src/data/text/bpe';
import { EngineSession } from '../../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../../src/engine/runtime/tensor';
import { type TinyFolder, writeTinyGpt2Folder, writeTinyLlamaFolder } from '../../helpers/hf-fixtures';
import { tempDir } from '../../helpers/tmp';

interface Step {
  ids: number[][];
  /** 1 = real token, 0 = padding; covers past + this step. */
  mask: number[][];
  past: Record<string, Tensor> | null;
}

/** One run of the graph with the feeds transformers.js would give it. */
async function runStep(session: EngineSession, f: TinyFolder, s: Step): Promise<Record<string, Tensor>> {
  const batch = s.ids.length;
  const seq = s.ids[0].length;
  const feeds: Record<string, Tensor> = {
    input_ids: tensorFrom('int64', [batch, seq], s.ids.flat()),
    attention_mask: tensorFrom('int64', [batch, s.mask[0].length], s.mask.flat()),
  };
  if (session.inputNames.includes('position_ids')) {
    // As transformers.js: cumulative count of real tokens − 1 (padding gets 1), this step's slice.
    const positions = s.mask.map((row) => {
      let seen = 0;
      return row.map((m) => (m ? seen++ : 1)).slice(row.length - seq);
    });
    feeds.position_ids = tensorFrom('int64', [batch, seq], positions.flat());
  }
  const layers = Number(f.config.num_hidden_layers ?? f.config.n_layer);
  const kvHeads = Number(f.config.num_key_value_heads ?? f.config.n_head);
  const headDim = Number(f.config.head_dim ?? Number(f.config.n_embd) / Number(f.config.n_head));
  for (let i = 0; i < layers; i++) {
    for (const part of ['key', 'value']) {
      feeds[`past_key_values.${i}.${part}`] =
        s.past?.[`present.${i}.${part}`] ?? zeros('float32', [batch, kvHeads, 0, headDim]);
    }
  }
  return session.run(feeds);
}

/** Logits of row `row`, position `pos` of a [B, S, V] tensor. */
function logitsAt(t: Tensor, row: number, pos: number): Float32Array {
  const [, seq, vocab] = t.dims;
  const start = (row * seq + pos) * vocab;
  return (t.data as Float32Array).slice(start, start + vocab);
}

const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

/** Greedy decoding with the KV cache: prefill, then one token per run. */
async function greedy(
  session: EngineSession,
  f: TinyFolder,
  prompt: number[],
  steps: number,
): Promise<number[]> {
  const out: number[] = [];
  let r = await runStep(session, f, { ids: [prompt], mask: [prompt.map(() => 1)], past: null });
  let length = prompt.length;
  for (let i = 0; i < steps; i++) {
    const next = argmax(logitsAt(r.logits, 0, r.logits.dims[1] - 1));
    out.push(next);
    if (f.eos.includes(next)) break;
    length++;
    r = await runStep(session, f, { ids: [[next]], mask: [Array(length).fill(1)], past: r });
  }
  return out;
}

const builders = { llama: writeTinyLlamaFolder, gpt2: writeTinyGpt2Folder };
const chat = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello, world! How are you today?' },
  { role: 'assistant', content: 'I am fine, thank you.' },
  { role: 'user', content: 'Grüße aus München 🙂 你好' },
];

describe.each(Object.entries(builders))('%s folder in the Hugging Face layout', (arch, build) => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let folder: TinyFolder;
  let session: EngineSession;

  beforeAll(async () => {
    root = await tempDir('maas-hf-');
    folder = await build(join(root.dir, `tiny-${arch}`));
    // Fused as maas serves it (MAAS_FUSE_PROJECTIONS): the greedy tokens must still be transformers.js's.
    session = await EngineSession.create(folder.onnx, { fuseProjections: true });
    env.allowRemoteModels = false;
    env.localModelPath = root.dir;
  });
  afterAll(async () => {
    await session.release();
    await root.remove();
  });

  it('writes the published files with the usual fields', async () => {
    expect(folder.files.sort()).toEqual(
      [
        'config.json',
        'generation_config.json',
        'onnx/model.onnx',
        'special_tokens_map.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ].sort(),
    );
    const read = async (name: string) => JSON.parse(await readFile(join(folder.dir, name), 'utf8'));
    const config = await read('config.json');
    const generation = await read('generation_config.json');
    const tokenizerConfig = await read('tokenizer_config.json');
    expect(config.model_type).toBe(arch);
    const sizes =
      arch === 'llama'
        ? [
            'hidden_size',
            'num_attention_heads',
            'num_key_value_heads',
            'num_hidden_layers',
            'intermediate_size',
            'max_position_embeddings',
          ]
        : ['n_embd', 'n_head', 'n_layer', 'n_positions'];
    for (const field of [...sizes, 'vocab_size']) expect(config[field], field).toBeGreaterThan(0);
    if (arch === 'llama') {
      expect(config.num_key_value_heads).toBeLessThan(config.num_attention_heads);
      expect(config.rms_norm_eps).toBeGreaterThan(0);
      expect(config.rope_theta).toBe(10000);
    }
    expect(generation.eos_token_id).toEqual([folder.ids.imEnd, folder.ids.endOfText]);
    expect(config.eos_token_id).toBe(folder.ids.imEnd);
    expect(tokenizerConfig.chat_template).toContain('<|im_start|>');
    expect(tokenizerConfig.eos_token).toBe('<|im_end|>');
    const names = session.inputNames;
    expect(names.slice(0, 2)).toEqual(['input_ids', 'attention_mask']);
    expect(names.includes('position_ids')).toBe(arch === 'llama');
    expect(names).toContain('past_key_values.1.value');
    expect(session.outputNames).toEqual([
      'logits',
      'present.0.key',
      'present.0.value',
      'present.1.key',
      'present.1.value',
    ]);
  });

  it('transformers.js tokenizes as maas and generates our greedy tokens offline', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(`tiny-${arch}`);
    const model = await AutoModelForCausalLM.from_pretrained(`tiny-${arch}`, { dtype: 'fp32' });
    try {
      const plain = 'Hello, world! Le modèle répond : où est la gare? 你好 🙂';
      expect(folder.bpe.merges.length).toBeGreaterThan(50);
      const ours = new BpeTokenizer(folder.bpe).encode(plain);
      expect(ours.length).toBeLessThan(new TextEncoder().encode(plain).length);
      expect(Array.from(tokenizer.encode(plain))).toEqual(ours);

      const text = tokenizer.apply_chat_template(chat, {
        tokenize: false,
        add_generation_prompt: true,
      }) as string;
      expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
      const inputs = tokenizer(text);
      const prompt = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      expect(prompt.filter((id) => id === folder.ids.imStart)).toHaveLength(chat.length + 1);

      const generated = (await model.generate({ ...inputs, max_new_tokens: 16, do_sample: false })) as {
        data: BigInt64Array;
      };
      const theirs = Array.from(generated.data, Number).slice(prompt.length);
      expect(theirs.length).toBeGreaterThan(0);
      expect(theirs).toEqual(await greedy(session, folder, prompt, 16));
    } finally {
      await model.dispose();
    }
  });

  it('the KV cache gives the logits of a full re-run', async () => {
    const prompt = [5, 77, 123, 9, 200, 31, 64, 150];
    const full = await runStep(session, folder, { ids: [prompt], mask: [prompt.map(() => 1)], past: null });
    // 5 tokens, then 1, then 2 more with the cache.
    let r = await runStep(session, folder, {
      ids: [prompt.slice(0, 5)],
      mask: [Array(5).fill(1)],
      past: null,
    });
    r = await runStep(session, folder, { ids: [prompt.slice(5, 6)], mask: [Array(6).fill(1)], past: r });
    expect(r['present.0.key'].dims[2]).toBe(6);
    expect(maxDiff(logitsAt(r.logits, 0, 0), logitsAt(full.logits, 0, 5))).toBeLessThan(1e-4);
    r = await runStep(session, folder, { ids: [prompt.slice(6)], mask: [Array(8).fill(1)], past: r });
    for (const pos of [0, 1])
      expect(maxDiff(logitsAt(r.logits, 0, pos), logitsAt(full.logits, 0, 6 + pos))).toBeLessThan(1e-4);
    // Logits are far from uniform (a test on near-ties would prove little).
    const last = logitsAt(full.logits, 0, 7);
    expect(Math.max(...last) - Math.min(...last)).toBeGreaterThan(1);
  });

  it('a left-padded row gives the logits of the unpadded one, prefill and decode', async () => {
    const short = [40, 41, 42, 43];
    const long = [7, 8, 9, 10, 11, 12, 13];
    const pad = long.length - short.length;
    const alone = await runStep(session, folder, { ids: [short], mask: [short.map(() => 1)], past: null });
    const mask = [[...Array(pad).fill(0), ...short.map(() => 1)], long.map(() => 1)];
    const padded = [[...Array(pad).fill(folder.ids.endOfText), ...short], long];
    const batch = await runStep(session, folder, { ids: padded, mask, past: null });
    expect(
      maxDiff(logitsAt(batch.logits, 0, long.length - 1), logitsAt(alone.logits, 0, short.length - 1)),
    ).toBeLessThan(1e-4);
    // Padding really is masked: unmasked, the same padded row gives other logits.
    const unmasked = await runStep(session, folder, { ids: [padded[0]], mask: [mask[1]], past: null });
    expect(
      maxDiff(logitsAt(unmasked.logits, 0, long.length - 1), logitsAt(alone.logits, 0, short.length - 1)),
    ).toBeGreaterThan(1e-3);
    // One decode step with the batch's cache.
    const next = [99, 98];
    const stepMask = mask.map((row) => [...row, 1]);
    const step = await runStep(session, folder, { ids: next.map((t) => [t]), mask: stepMask, past: batch });
    const aloneStep = await runStep(session, folder, {
      ids: [[next[0]]],
      mask: [Array(short.length + 1).fill(1)],
      past: alone,
    });
    expect(maxDiff(logitsAt(step.logits, 0, 0), logitsAt(aloneStep.logits, 0, 0))).toBeLessThan(1e-4);
  });
});
