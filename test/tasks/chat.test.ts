import { describe, expect, it } from 'vitest';
import {
  chatStops,
  chatTemplateOf,
  defaultChatTemplate,
  parseMessages,
  renderChat,
} from '../../src/platform/tasks/chat';

describe('chat template', () => {
  it('renders role: content lines and the assistant cue by default', () => {
    const messages = parseMessages([
      { role: 'developer', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi ' },
          { type: 'text', text: 'there' },
        ],
      },
    ]);
    expect(renderChat(messages, chatTemplateOf({}))).toBe('system: Be brief.\nuser: Hi there\nassistant:');
  });

  it("uses the version's template; replacement patterns in content stay literal", () => {
    const t = chatTemplateOf({
      chat_template: {
        message: '<{role}>{content}',
        separator: '',
        generation: '<assistant>',
        stop: ['<user>'],
      },
    });
    expect(renderChat([{ role: 'user', content: 'cost $& $1' }], t)).toBe('<user>cost $& $1<assistant>');
    expect(chatStops(['x', 'y', 'z', 'w'], t)).toEqual(['x', 'y', 'z', 'w']);
    expect(chatStops(['x'], t)).toEqual(['x', '<user>']);
    expect(chatTemplateOf({ chat_template: { message: 42 } }).message).toBe(defaultChatTemplate.message);
  });

  it('refuses unknown roles, non-text parts and empty lists', () => {
    expect(() => parseMessages([])).toThrow(/messages must be a list/);
    expect(() => parseMessages([{ role: 'wizard', content: 'x' }])).toThrow(/role must be one of/);
    expect(() => parseMessages([{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }])).toThrow(
      /only text parts/,
    );
  });
});
