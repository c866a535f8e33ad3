import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options, type Series } from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a time chart. */
export interface ChartSeries {
  readonly label: string;
  readonly values: ReadonlyArray<number | null>;
  readonly color: string;
  /** Drawn as a dashed line (a limit, a band's edge). */
  readonly dashed?: boolean;
  /** Drawn as bars (counts per interval). */
  readonly bars?: boolean;
}

export const COLORS = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
];

/**
 * A time-series chart (uPlot: small, fast, canvas). `times` are epoch ms. It takes the width of its
 * container and follows it (a phone turned sideways), and is rebuilt when the series change shape.
 */
export function TimeChart(props: {
  times: readonly number[];
  series: readonly ChartSeries[];
  height?: number;
  yLabel?: string;
  /** A fixed range for the values (0–100 for a percentage); by default it follows the data. */
  yRange?: readonly [number, number];
  title: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = props.series.map((s) => `${s.label}:${s.bars === true}`).join('|');
  const ready = props.times.length >= 2;

  const data = (): AlignedData => [
    props.times.map((t) => t / 1000),
    ...props.series.map((s) => s.values as (number | null)[]),
  ];

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const series: Series[] = [
      {},
      ...props.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        ...(s.dashed === true ? { dash: [6, 4] } : {}),
        ...(s.bars === true ? { fill: `${s.color}88`, paths: uPlot.paths.bars?.({ size: [0.8, 40] }) } : {}),
        spanGaps: false,
      })),
    ];
    const options: Options = {
      width: Math.max(200, element.clientWidth),
      height: props.height ?? 200,
      series,
      axes: [{}, { label: props.yLabel ?? '', size: 56 }],
      ...(props.yRange === undefined ? {} : { scales: { y: { range: [props.yRange[0], props.yRange[1]] } } }),
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, data(), element);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, element.clientWidth), height: props.height ?? 200 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the series change shape; new values go through setData below.
  }, [shape, props.height, ready]);

  useEffect(() => {
    plot.current?.setData(data());
  });

  if (!ready) return <p class="muted">Plotted once there are two points or more.</p>;
  // The latest value of each series, as text: what the chart shows last, readable without the canvas.
  const latest = props.series.map((s) => s.values.at(-1) ?? '').join(',');
  return <div class="chart" ref={box} role="img" aria-label={props.title} data-latest={latest} />;
}
