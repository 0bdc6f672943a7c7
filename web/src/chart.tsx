/** A line chart (uPlot) that keeps its instance and only swaps the data as points arrive. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface Series {
  label: string;
  colour: string;
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
        // Days: at least a week shown, so one day of data is a point, not a span of years.
        scales: {
          x: time
            ? { time, range: (_u, min, max) => [Math.min(min, max - 6 * 86_400), max + 43_200] }
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
