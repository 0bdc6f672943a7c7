/**
 * CPPN palettes: how the network's three outputs (each in (0, 1)) become a colour. A registry of
 * named rows; a second row with a taken name is refused.
 *
 * - `rgb`: the three outputs as red, green, blue (the network's own colours).
 * - `mono`: output 0 as grey.
 * - gradient palettes (`warm`, `cool`, `neon`, ...): output 0 picks a colour along the gradient and
 *   output 1 sets its brightness (55..100 %), so shapes keep shading inside one colour scheme.
 */
import { fail } from '../../common/errors';
import { anchoredColormap, type Colormap, type Rgb } from '../common/colormap';

/** Three network outputs → [r, g, b], all in [0, 1]. */
export type Palette = (a: number, b: number, c: number) => Rgb;

const palettes = new Map<string, Palette>();

export function registerPalette(name: string, palette: Palette): void {
  if (palettes.has(name)) throw new Error(`palette '${name}' is already registered`);
  palettes.set(name, palette);
}

export function paletteNames(): string[] {
  return [...palettes.keys()];
}

export function paletteFor(name: string): Palette {
  const p = palettes.get(name);
  if (!p) fail('invalid_request', `unknown palette '${name}'; known: ${paletteNames().join(', ')}`);
  return p;
}

function gradient(map: Colormap): Palette {
  return (a, b) => {
    const [r, g, bl] = map(a);
    const shade = 0.55 + 0.45 * b;
    return [r * shade, g * shade, bl * shade];
  };
}

registerPalette('rgb', (a, b, c) => [a, b, c]);
registerPalette('mono', (a) => [a, a, a]);
registerPalette('warm', gradient(anchoredColormap(['#2b0a0a', '#8c1c13', '#e4572e', '#f3a712', '#fff1c1'])));
registerPalette('cool', gradient(anchoredColormap(['#061a40', '#0353a4', '#006daa', '#3fc1c9', '#e0fbfc'])));
registerPalette('neon', gradient(anchoredColormap(['#0b0014', '#7400b8', '#f20089', '#00f5d4', '#fee440'])));
registerPalette('earth', gradient(anchoredColormap(['#1b1b0f', '#4a5d23', '#8a9a5b', '#c2a878', '#f1e3c6'])));
