/** OpenAI's fine-tuning JSONL read as a {text, label} table: detection, both shapes, errors by line. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatExampleText, describeDataset, detectFormat } from '../../src/data';
import { datasetError, tempDir, writeFixture } from './fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const line = (v: unknown) => JSON.stringify(v);

describe('OpenAI fine-tuning JSONL', () => {
  it('reads chat examples (string or text-part content) and prompt/completion pairs as text + label', async () => {
    const file = await writeFixture(
      dir,
      'ft.jsonl',
      [
        line({
          messages: [
            { role: 'system', content: 'Classify.' },
            { role: 'user', content: ' win a prize ' },
            { role: 'assistant', content: 'ask me' },
            { role: 'user', content: 'now' },
            { role: 'assistant', content: ' spam ' },
          ],
        }),
        '',
        line({
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'lunch' },
                { type: 'text', text: '?' },
              ],
            },
            { role: 'assistant', content: 'ham' },
          ],
        }),
        line({ prompt: 'free money ->', completion: ' spam' }),
      ].join('\n'),
    );
    expect((await detectFormat(file)).name).toBe('openai-finetune');
    const d = await describeDataset(file);
    expect(d.format).toBe('openai-finetune');
    expect(d.schema.map((c) => c.name)).toEqual(['text', 'label']);
    // User turns joined by a newline; the system prompt and earlier assistant turns are left out.
    expect(d.preview).toEqual([
      { text: 'win a prize\nnow', label: 'spam' },
      { text: 'lunch?', label: 'ham' },
      { text: 'free money ->', label: 'spam' },
    ]);
    expect(d.classBalance).toEqual({ spam: 2, ham: 1 });
    expect(
      chatExampleText([
        { role: 'system', content: 'x' },
        { role: 'user', content: ' hi ' },
      ]),
    ).toBe('hi');
  });

  it('plain JSONL stays plain; a bad example is an error naming its line', async () => {
    const plain = await writeFixture(dir, 'plain.jsonl', `${line({ text: 'a', label: 'b' })}\n`);
    expect((await detectFormat(plain)).name).toBe('jsonl');
    const cases: [unknown, RegExp][] = [
      [{ messages: [{ role: 'user', content: 'hi' }] }, /needs an assistant message/],
      [
        {
          messages: [
            { role: 'system', content: 's' },
            { role: 'assistant', content: 'a' },
          ],
        },
        /needs a user message/,
      ],
      [
        {
          messages: [
            { role: 'user', content: [{ type: 'image_url' }] },
            { role: 'assistant', content: 'a' },
          ],
        },
        /messages\[0\] needs a role and a text content/,
      ],
      [{ prompt: 'p' }, /expected \{"messages"/],
    ];
    for (const [bad, message] of cases) {
      const file = await writeFixture(
        dir,
        'bad.jsonl',
        `${line({ prompt: 'ok', completion: 'x' })}\n${line(bad)}\n`,
      );
      const e = await datasetError(() => describeDataset(file));
      expect(e.pointer).toBe('line 2');
      expect(e.message).toMatch(message);
    }
  });
});
