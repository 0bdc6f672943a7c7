/**
 * onnxruntime-genai's `genai_config.json` for a decoder in the layout of layout.ts: the decoder's
 * file, its sizes, the input/output name maps (`%d` = layer) and the default search settings.
 * onnxruntime-genai folders keep the graph beside it (`model.onnx`).
 */
import { pastName, presentName } from './layout';

export interface GenaiDecoder {
  type: string;
  filename: string;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocab: number;
  context: number;
  bos: number;
  eos: number[];
  pad: number;
  positionIds: boolean;
}

export function genaiConfig(d: GenaiDecoder): Record<string, unknown> {
  const names = (f: (i: number, part: 'key' | 'value') => string, part: 'key' | 'value') =>
    f(0, part).replace('.0.', '.%d.');
  return {
    model: {
      type: d.type,
      bos_token_id: d.bos,
      eos_token_id: d.eos.length === 1 ? d.eos[0] : d.eos,
      pad_token_id: d.pad,
      context_length: d.context,
      vocab_size: d.vocab,
      decoder: {
        filename: d.filename,
        session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
        head_size: d.headDim,
        hidden_size: d.hidden,
        num_attention_heads: d.heads,
        num_key_value_heads: d.kvHeads,
        num_hidden_layers: d.layers,
        inputs: {
          input_ids: 'input_ids',
          attention_mask: 'attention_mask',
          ...(d.positionIds ? { position_ids: 'position_ids' } : {}),
          past_key_names: names(pastName, 'key'),
          past_value_names: names(pastName, 'value'),
        },
        outputs: {
          logits: 'logits',
          present_key_names: names(presentName, 'key'),
          present_value_names: names(presentName, 'value'),
        },
      },
    },
    search: {
      do_sample: false,
      early_stopping: true,
      max_length: d.context,
      min_length: 0,
      num_beams: 1,
      num_return_sequences: 1,
      past_present_share_buffer: false,
      repetition_penalty: 1.0,
      temperature: 1.0,
      top_k: 1,
      top_p: 1.0,
    },
  };
}
