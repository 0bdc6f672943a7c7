/**
 * Serves an `image-gen` model version (a class-conditional decoder) as `image-generation`:
 * prompt → class ("a handwritten 7" → 7), n latent vectors from the request seed, one decoder run
 * for the whole batch, each 28×28 sample resized to the requested size.
 *
 * Request style (optional): `temperature` (spread of z, 0..3; default the version's metadata value),
 * `resample` (`bilinear`, default, smooth strokes; `nearest`, hard pixels).
 */
import { fail } from '../../common/errors';
import { encodePngAsync, imagesFromBatch, resizeImage } from '../common/image';
import { randomSeed } from '../common/prng';
import type { ImageGenerationRuntime, RuntimeContext } from '../task';
import { checkImageCount } from './cppn-runtime';
import { type ClassVocabulary, classFromPrompt } from './prompt';
import { decoderInputs } from './quality';

export interface ImageGenRuntimeMetadata {
  latentDim: number;
  vocabulary: ClassVocabulary;
  temperature: number;
}

/** Checks the fields the runtime needs (a registry row could hold anything). */
export function imageGenMetadata(m: Readonly<Record<string, unknown>>): ImageGenRuntimeMetadata {
  const latentDim = m.latentDim;
  if (typeof latentDim !== 'number' || !Number.isInteger(latentDim) || latentDim < 1 || latentDim > 512)
    fail('invalid_model', 'image-gen metadata needs latentDim, an integer in [1, 512]');
  const v = m.vocabulary as ClassVocabulary | undefined;
  const okClass = (c: unknown) =>
    typeof c === 'object' &&
    c !== null &&
    typeof (c as { name?: unknown }).name === 'string' &&
    Array.isArray((c as { terms?: unknown }).terms) &&
    (c as { terms: unknown[] }).terms.every((t) => typeof t === 'string' && t.trim() !== '');
  if (!v || !Array.isArray(v.classes) || v.classes.length === 0 || !v.classes.every(okClass))
    fail('invalid_model', 'image-gen metadata needs vocabulary.classes: [{ name, terms[] }, ...]');
  const temperature = typeof m.temperature === 'number' ? m.temperature : 1;
  return { latentDim, vocabulary: { classes: v.classes, examples: v.examples ?? [] }, temperature };
}

const STYLE_KEYS = ['temperature', 'resample'];

function imageGenStyle(style: Record<string, unknown> = {}, dflt: number) {
  for (const k of Object.keys(style)) {
    if (!STYLE_KEYS.includes(k))
      fail('invalid_request', `unknown image-gen style '${k}'; known: ${STYLE_KEYS.join(', ')}`);
  }
  const t = style.temperature ?? dflt;
  if (typeof t !== 'number' || !(t >= 0 && t <= 3))
    fail('invalid_request', 'style.temperature must be a number in [0, 3]');
  const resample = style.resample ?? 'bilinear';
  if (resample !== 'bilinear' && resample !== 'nearest')
    fail('invalid_request', "style.resample must be 'bilinear' or 'nearest'");
  return { temperature: t, resample: resample as 'bilinear' | 'nearest' };
}

/** The `image-gen` family's runtime factory (registered in ./index). */
export function imageGenRuntime(ctx: RuntimeContext): ImageGenerationRuntime {
  const meta = imageGenMetadata(ctx.metadata);
  return {
    task: 'image-generation',
    async generate(req, signal) {
      checkImageCount(req.n);
      const cls = classFromPrompt(req.prompt, meta.vocabulary);
      const style = imageGenStyle(req.style, meta.temperature);
      const feeds = decoderInputs(new Array<number>(req.n).fill(cls), {
        latentDim: meta.latentDim,
        seed: req.seed ?? randomSeed(),
        temperature: style.temperature,
      });
      const { image } = await ctx.run(feeds, { outputs: ['image'], signal });
      const pngs: Uint8Array[] = [];
      for (const img of imagesFromBatch(image)) {
        // Between images the request's deadline (and a client hang-up) can end the work.
        if (signal?.aborted) fail('client_closed', 'image generation stopped: the request ended');
        const sized =
          img.width === req.width && img.height === req.height
            ? img
            : resizeImage(img, req.width, req.height, style.resample);
        pngs.push(await encodePngAsync(sized));
      }
      return pngs;
    },
  };
}
