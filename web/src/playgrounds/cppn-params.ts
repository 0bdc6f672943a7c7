/**
 * The CPPN explorer's parameters and the request they make: everything a `cppn` version takes at
 * request time (`src/models/vision/cppn-runtime.ts`): the seed (draws the latent z), the style's
 * palette, zoom and latent scale, and the size. Depth, width and activations belong to the
 * version. No DOM here: a server-side test checks the palettes against the server's registry.
 */

/** The palettes the server registers (`src/models/vision/palettes.ts`), in its order. */
export const CPPN_PALETTES = ['rgb', 'mono', 'warm', 'cool', 'neon', 'earth'];

/** The server's ranges: zoom in [0.05, 50], latent scale in [0, 5]. */
export const ZOOM = { min: 0.05, max: 50 };
export const LATENT_SCALE = { min: 0, max: 5 };

export interface CppnParams {
  seed: number;
  palette: string;
  /** The zoom slider moves in log10 steps: 0.05..50 over its length, 1 in the middle-ish. */
  zoomLog: number;
  latentScale: number;
  size: number;
}

export const DEFAULT_CPPN: CppnParams = { seed: 1, palette: 'rgb', zoomLog: 0, latentScale: 1, size: 160 };

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export const zoomOf = (zoomLog: number): number =>
  Number(clamp(10 ** zoomLog, ZOOM.min, ZOOM.max).toPrecision(3));

/** The slider positions → the body of `POST /api/v1/models/NAME/imagine` (one square image). */
export function cppnRequest(p: CppnParams) {
  return {
    prompt: 'cppn explorer',
    n: 1,
    width: p.size,
    height: p.size,
    seed: p.seed,
    style: {
      palette: p.palette,
      zoom: zoomOf(p.zoomLog),
      latentScale: clamp(p.latentScale, LATENT_SCALE.min, LATENT_SCALE.max),
    },
  };
}
