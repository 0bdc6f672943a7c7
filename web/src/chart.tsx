/** A line chart (uPlot) that keeps its instance and only swaps the data as points arrive. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface Series {
  label: string;
  colour: string;
}

const DAY_S = 86_400;

/**
 * The x range of a chart by day (Unix seconds): at least the week up to the last day, and half a
 * day past it, so one day of data is a point at the right and not a span of years.
 */
export function dayRange(xs: readonly number[]): [number, number] {
  if (xs.length === 0) {
    const now = Math.floor(Date.now() / 1000);
    return [now - 6 * DAY_S, now + DAY_S / 2];
  }
  const first = Math.min(...xs);
  const last = Math.max(...xs);
  return [Math.min(first, last - 6 * DAY_S), last + DAY_S / 2];
}

export function LineChart({
  title,
  x,
  series,
  data,
  time = false,
}: {
  title: string;
  x: string;
  /** The x values are Unix seconds (dates on the axis). */
  time?: boolean;
  series: Series[];
  /** [xs, ys of series 1, ys of series 2, …]; null where a series has no point. */
  data: (number | null)[][];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: built once; data flows through setData
  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot(
      {
        title,
        width: Math.max(280, Math.min(900, box.current.clientWidth || 600)),
        height: 260,
        // Days: one time point (every x the same) is widened by uPlot to 1000 days, so such a range
        // is read from the data instead; any other range (the data's, or a drag-zoom) stays.
        scales: {
          x: time
            ? { time, range: (u, min, max) => (min === max ? dayRange(u.data[0] as number[]) : [min, max]) }
            : { time },
        },
        axes: [{ label: x }, {}],
        series: [
          { label: x },
          ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, spanGaps: true })),
        ],
      },
      data as uPlot.AlignedData,
      box.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);
  return <div ref={box} className="chart" role="img" aria-label={title} data-points={data[0]?.length ?? 0} />;
}
