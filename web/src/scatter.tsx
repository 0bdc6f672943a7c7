/** A labelled scatter plot (uPlot, points only): one dot per item, its label drawn beside it. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
}

/** uPlot wants x ascending: the points sorted by x, as [xs, ys] columns, with labels in that order. */
export function scatterColumns(points: readonly ScatterPoint[]): {
  data: [number[], number[]];
  labels: string[];
} {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  return { data: [sorted.map((p) => p.x), sorted.map((p) => p.y)], labels: sorted.map((p) => p.label) };
}

export function ScatterChart({ title, points }: { title: string; points: readonly ScatterPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const { data, labels } = scatterColumns(points);
    const plot = new uPlot(
      {
        title,
        width: Math.max(280, Math.min(700, box.current.clientWidth || 600)),
        height: 320,
        legend: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: 'component 1' }, { label: 'component 2' }],
        series: [
          {},
          { stroke: '#2f5bd3', fill: '#2f5bd3', paths: () => null, points: { show: true, size: 8 } },
        ],
        hooks: {
          // The words beside their dots, in the plot's own canvas (no DOM per point).
          draw: [
            (u) => {
              const ctx = u.ctx;
              ctx.save();
              ctx.fillStyle = '#1d2330';
              ctx.font = `${Math.round(12 * devicePixelRatio)}px system-ui, sans-serif`;
              data[0].forEach((x, i) => {
                ctx.fillText(labels[i], u.valToPos(x, 'x', true) + 6, u.valToPos(data[1][i], 'y', true) - 6);
              });
              ctx.restore();
            },
          ],
        },
      },
      data,
      box.current,
    );
    return () => plot.destroy();
  }, [title, points]);
  return <div ref={box} className="chart" role="img" aria-label={title} data-points={points.length} />;
}
