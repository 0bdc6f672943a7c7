/**
 * A model folder's chat template (Jinja, as transformers writes it), run by `@huggingface/jinja`:
 * the ONLY module that imports it. The variables are transformers' own: `messages`,
 * `add_generation_prompt`, `tools`, and the special tokens of `tokenizer_config.json`
 * (`bos_token`, `eos_token`, `unk_token`, `pad_token`) as strings.
 *
 * E.g. a ChatML template renders [{role:'user',content:'Hi'}] with add_generation_prompt as
 * "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n".
 */
import { Template } from '@huggingface/jinja';
import { fail } from '../../common/errors';

export interface TemplateMessage {
  role: string;
  content: string;
}

export interface ChatTemplate {
  render(
    messages: readonly TemplateMessage[],
    options?: { addGenerationPrompt?: boolean; tools?: readonly unknown[] },
  ): string;
}

/** Special tokens a template may use: `{bos_token: '<s>', eos_token: '</s>', ...}`. */
export type SpecialTokens = Readonly<Record<string, string>>;

/**
 * Parse `source` (refused with the parser's reason: `invalid_model`, naming `file`). Rendering
 * errors (a template's `raise_exception`, a bad variable) are the request's: `invalid_request`
 * with the template's own message.
 */
export function compileTemplate(source: string, specials: SpecialTokens, file: string): ChatTemplate {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    fail('invalid_model', `${file}: the chat template does not parse: ${reason(e)}`);
  }
  return {
    render(messages, options) {
      try {
        return template.render({
          ...specials,
          messages: messages.map((m) => ({ ...m })),
          add_generation_prompt: options?.addGenerationPrompt ?? true,
          ...(options?.tools ? { tools: options.tools } : {}),
        });
      } catch (e) {
        return fail('invalid_request', `the model's chat template failed: ${reason(e)}`, {
          pointer: 'messages',
        });
      }
    },
  };
}

function reason(e: unknown): string {
  return String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .slice(0, 300);
}
