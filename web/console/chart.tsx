/** A chart.js chart drawn on a canvas of the page, drawn again whenever its data changes. */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series { label: string; values: number[]; color: string }

export function ChartView({ type, labels, series, title }: { type: 'bar' | 'line'; labels: string[]; series: Series[]; title: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const config: ChartConfiguration<'bar' | 'line'> = {
      type,
      data: { labels, datasets: series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color, borderColor: s.color })) },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    };
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [type, JSON.stringify(labels), JSON.stringify(series)]);
  return <div class="chart"><canvas ref={canvas} role="img" aria-label={title} /></div>;
}
