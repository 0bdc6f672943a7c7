/**
 * A bar chart (uPlot's bars path) of a few figures per named thing (requests and units per model):
 * each figure on its own scale, as units dwarf requests; the names along the bottom.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { Series } from './chart';

export interface BarSeries extends Series {
  /** The axis it is read on: the first on the left, the second on the right. */
  scale: string;
}

/** Long names (key ids, model versions) cut to fit under a bar; the table below has them whole. */
export function shortLabel(name: string, most = 14): string {
  return name.length <= most ? name : `${name.slice(0, most - 1)}…`;
}

/** Tick steps for counts (requests, units are whole): 1, 2, 5, 10, 20, 50, … never 2.5. */
export const WHOLE_STEPS: number[] = Array.from({ length: 12 }, (_, e) =>
  [1, 2, 5].map((m) => m * 10 ** e),
).flat();

/** Where each series' bars sit at a name: side by side, left and right of its tick. */
const ALIGN: (-1 | 0 | 1)[][] = [[0], [-1, 1]];

export function barOptions(
  title: string,
  x: string,
  labels: string[],
  series: BarSeries[],
  width: number,
): uPlot.Options {
  const align = ALIGN[series.length - 1] ?? series.map(() => 0 as const);
  const scales: uPlot.Scales = { x: { time: false, range: () => [-0.5, labels.length - 0.5] } };
  for (const s of series) scales[s.scale] = { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] };
  return {
    title,
    width,
    height: 260,
    scales,
    axes: [
      {
        label: x,
        splits: () => labels.map((_, i) => i),
        values: (_u, splits) => splits.map((i) => shortLabel(labels[i] ?? '')),
        // Many names at phone width: slanted so they do not run into each other.
        rotate: labels.length * 90 > width ? -30 : 0,
        size: labels.length * 90 > width ? 70 : 40,
        gap: 4,
      },
      ...series.map((s, i) => ({
        scale: s.scale,
        label: s.label,
        side: i === 0 ? 3 : 1,
        incrs: WHOLE_STEPS,
        grid: { show: i === 0 },
        stroke: s.colour,
      })),
    ],
    series: [
      { label: x, value: (_u: uPlot, i: number | null) => (i === null ? '—' : (labels[i] ?? '—')) },
      ...series.map((s, i) => ({
        label: s.label,
        scale: s.scale,
        stroke: s.colour,
        fill: `${s.colour}cc`,
        width: 1,
        paths: uPlot.paths.bars?.({ size: [series.length > 1 ? 0.4 : 0.7, 60], align: align[i] }),
        points: { show: false },
      })),
    ],
    cursor: { drag: { x: false, y: false } },
  };
}

/** Somewhere without a 2-D canvas (an old or headless DOM) the table below the chart is all there is. */
const canDraw = (): boolean => document.createElement('canvas').getContext('2d') !== null;

export function BarChart({
  title,
  x,
  labels,
  series,
  data,
}: {
  title: string;
  /** What the bars are of: `model`, `key`. */
  x: string;
  labels: string[];
  series: BarSeries[];
  /** One column per series, a value per label. */
  data: number[][];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || labels.length === 0 || !canDraw()) return;
    const width = Math.max(260, Math.min(900, box.current.clientWidth || 600));
    const xs = labels.map((_, i) => i);
    const plot = new uPlot(barOptions(title, x, labels, series, width), [xs, ...data], box.current);
    return () => plot.destroy();
  }, [title, x, labels, series, data]);
  if (labels.length === 0) return <p className="muted">No requests yet.</p>;
  const summary = labels.map(
    (l, i) => `${l}: ${series.map((s, j) => `${data[j][i]} ${s.label}`).join(', ')}`,
  );
  return (
    <div
      ref={box}
      className="chart"
      role="img"
      aria-label={`${title}. ${summary.join('; ')}`}
      data-bars={labels.length}
    />
  );
}
