// A Chart.js chart in a <figure>, with the same numbers in a table for screen readers.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
);

export const STATE_COLOURS: Record<string, string> = {
  pending: "#8c959f",
  downloading: "#54aeff",
  installing: "#0969da",
  rebooting: "#8250df",
  updated: "#1a7f37",
  failed: "#cf222e",
  none: "#d0d7de",
};

export interface Series {
  label: string;
  values: number[];
  colour?: string;
}

interface Props {
  title: string;
  kind: "bar" | "line";
  labels: string[];
  series: Series[];
  height?: number;
}

export function ChartFigure({ title, kind, labels, series, height = 220 }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    const config: ChartConfiguration = {
      type: kind,
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: kind === "bar" ? "y" : "x",
        plugins: { legend: { display: series.length > 1 } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true } },
      },
    };
    chart.current = new Chart(canvas.current, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, [kind, series.length]);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = series.map((s, i) => ({
      label: s.label,
      data: s.values,
      backgroundColor: s.colour ?? PALETTE[i % PALETTE.length],
      borderColor: s.colour ?? PALETTE[i % PALETTE.length],
      pointRadius: 0,
    }));
    c.update();
  }, [labels, series]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div class="chart-box" style={{ height: `${height}px` }}>
        <canvas ref={canvas} role="img" aria-label={title} />
      </div>
      <table class="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            {series.map((s) => (
              <th scope="col" key={s.label}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {labels.map((label, row) => (
            <tr key={label + row}>
              <th scope="row">{label}</th>
              {series.map((s) => (
                <td key={s.label}>{s.values[row]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

const PALETTE = ["#0969da", "#1a7f37", "#8250df", "#bf8700", "#cf222e", "#1b7c83", "#57606a"];
