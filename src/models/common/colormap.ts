/**
 * Colormaps for heat maps: a registry of named maps, each t ∈ [0, 1] → [r, g, b] in [0, 1].
 * viridis and inferno are perceptually uniform (lightness rises monotonically with t, and they read
 * in greyscale and for colour-blind viewers); they are given here by nine anchor colours of the
 * published matplotlib maps (t = 0, 1/8, ..., 1) with linear interpolation between them.
 */
import { fail } from '../../common/errors';

export type Rgb = readonly [number, number, number];
export type Colormap = (t: number) => Rgb;

const hex = (s: string): Rgb => [
  Number.parseInt(s.slice(1, 3), 16) / 255,
  Number.parseInt(s.slice(3, 5), 16) / 255,
  Number.parseInt(s.slice(5, 7), 16) / 255,
];

/** A map by linear interpolation between evenly spaced anchors. */
export function anchoredColormap(anchors: readonly string[]): Colormap {
  const colors = anchors.map(hex);
  const last = colors.length - 1;
  return (t) => {
    const x = Number.isFinite(t) ? Math.min(Math.max(t, 0), 1) * last : 0;
    const i = Math.min(Math.floor(x), last - 1);
    const f = x - i;
    const [a, b] = [colors[i], colors[i + 1]];
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  };
}

const registry = new Map<string, Colormap>();

/** Add a map; a name already taken is refused (a second 'viridis' would silently change output). */
export function registerColormap(name: string, map: Colormap): void {
  if (registry.has(name)) throw new Error(`colormap '${name}' is already registered`);
  registry.set(name, map);
}

export function colormapFor(name: string): Colormap {
  const map = registry.get(name);
  if (!map) fail('invalid_request', `unknown colormap '${name}'; known: ${colormapNames().join(', ')}`);
  return map;
}

export function colormapNames(): string[] {
  return [...registry.keys()];
}

registerColormap(
  'viridis',
  anchoredColormap([
    '#440154',
    '#472d7b',
    '#3b528b',
    '#2c728e',
    '#21918c',
    '#28ae80',
    '#5ec962',
    '#addc30',
    '#fde725',
  ]),
);
registerColormap(
  'inferno',
  anchoredColormap([
    '#000004',
    '#1f0c48',
    '#550f6d',
    '#88226a',
    '#ba3655',
    '#e35932',
    '#f98c0a',
    '#f9c932',
    '#fcffa4',
  ]),
);
registerColormap('gray', (t) => {
  const v = Number.isFinite(t) ? Math.min(Math.max(t, 0), 1) : 0;
  return [v, v, v];
});
