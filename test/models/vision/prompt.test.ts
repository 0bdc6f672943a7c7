import { describe, expect, it } from 'vitest';
import { isMaasError } from '../../../src/common/errors';
import { imageGenMetadata } from '../../../src/models/vision/image-gen-runtime';
import { classFromPrompt, classVocabulary, digitVocabulary } from '../../../src/models/vision/prompt';

const digits = digitVocabulary(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

const error = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return isMaasError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return 'no error';
};

describe('prompt → class', () => {
  it('reads numerals and number words as whole words, any case and punctuation', () => {
    expect(classFromPrompt('a handwritten 7', digits)).toBe(7);
    expect(classFromPrompt('digit seven', digits)).toBe(7);
    expect(classFromPrompt('7', digits)).toBe(7);
    expect(classFromPrompt('Draw me a ZERO, please!', digits)).toBe(0);
    expect(classFromPrompt('the number "3"', digits)).toBe(3);
    expect(classFromPrompt('nought', digits)).toBe(0);
  });

  it('refuses prompts naming no class or several, listing what is accepted', () => {
    expect(error(() => classFromPrompt('a cat', digits))).toBe(
      'invalid_request: the prompt names no class this model draws; name one class (0/zero/nought, 1/one, 2/two, ' +
        '3/three, 4/four, 5/five, 6/six, 7/seven, 8/eight, 9/nine), e.g. "a handwritten 7", "digit seven", "7"',
    );
    // '17' is not a digit class; 'someone' does not contain the word 'one'.
    expect(error(() => classFromPrompt('number 17 for someone', digits))).toMatch(/names no class/);
    expect(error(() => classFromPrompt('3 or 8', digits))).toMatch(/names several classes \(3, 8\)/);
    expect(error(() => classFromPrompt('7'.repeat(1001), digits))).toMatch(/at most 1000 characters/);
  });

  it('works for any class vocabulary, including multi-word names', () => {
    const clothes = {
      classes: [
        { name: 'Ankle boot', terms: ['ankle boot', 'boot'] },
        { name: 'Bag', terms: ['bag', 'handbag'] },
      ],
      examples: ['a bag'],
    };
    expect(classFromPrompt('an ANKLE-boot', clothes)).toBe(0);
    expect(classFromPrompt('a leather handbag', clothes)).toBe(1);
  });
});

describe('image-gen metadata', () => {
  it('needs a latent size and a class vocabulary', () => {
    expect(error(() => imageGenMetadata({}))).toMatch(/^invalid_model: .*latentDim/);
    expect(error(() => imageGenMetadata({ latentDim: 4, vocabulary: { classes: [{ name: 'x' }] } }))).toMatch(
      /^invalid_model: .*vocabulary/,
    );
    expect(imageGenMetadata({ latentDim: 4, vocabulary: digits }).temperature).toBe(1);
  });
});

describe('class vocabulary from class names', () => {
  // Fashion-MNIST's names as the built-in dataset's spec lists them (sorted).
  const fashion = classVocabulary([
    'Ankle boot',
    'Bag',
    'Coat',
    'Dress',
    'Pullover',
    'Sandal',
    'Shirt',
    'Sneaker',
    'T-shirt/top',
    'Trouser',
  ]);
  const id = (name: string) => fashion.classes.findIndex((c) => c.name === name);

  it('finds clothing classes in prompts: any case, plurals, multi-word names, synonyms', () => {
    expect(classFromPrompt('a sneaker', fashion)).toBe(id('Sneaker'));
    expect(classFromPrompt('An Ankle Boot', fashion)).toBe(id('Ankle boot'));
    expect(classFromPrompt('ankle boots', fashion)).toBe(id('Ankle boot'));
    expect(classFromPrompt('a t-shirt', fashion)).toBe(id('T-shirt/top'));
    expect(classFromPrompt('T-SHIRTS, t-shirts', fashion)).toBe(id('T-shirt/top'));
    expect(classFromPrompt('a shirt', fashion)).toBe(id('Shirt'));
    expect(classFromPrompt('three dresses', fashion)).toBe(id('Dress'));
    expect(classFromPrompt('Sneakers!', fashion)).toBe(id('Sneaker'));
    expect(classFromPrompt('a pair of trousers', fashion)).toBe(id('Trouser'));
    expect(classFromPrompt('a warm jacket', fashion)).toBe(id('Coat'));
  });

  it('refuses an unknown class with the list of what the model draws', () => {
    const msg = error(() => classFromPrompt('a hat', fashion));
    expect(msg).toMatch(/^invalid_request: the prompt names no class this model draws/);
    expect(msg).toContain('ankle boot/boot');
    expect(msg).toContain('t-shirt/top/t shirt/tshirt/tee');
    expect(msg).toContain('e.g. "an ankle boot", "a bag", "a coat"');
    expect(error(() => classFromPrompt('a shirt and a coat', fashion))).toMatch(
      /names several classes \(Coat, Shirt\)/,
    );
  });

  it('gives digit names the digit vocabulary, so every digit prompt keeps working', () => {
    const v = classVocabulary(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(v).toEqual(digits);
    expect(classFromPrompt('a handwritten 7', v)).toBe(7);
    expect(classFromPrompt('seven', v)).toBe(7);
    expect(classFromPrompt('some 7s', v)).toBe(7);
  });
});
