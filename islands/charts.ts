/** The result's pictures: probability bars, the spectrogram the model judged, the waveform with the speech marked. */
import { useEffect, useRef } from "preact/hooks";
import { html } from "./html.ts";

/**
 * The ten digits, highest first; with a model that can tell, "not a digit" as a bar of its own first (its
 * probability is of a different question: whether the clip is a digit at all; the ten share what is left). With
 * refusal off (refusalPoint null) the bar says so: a high "not a digit" beside an answered digit is then no
 * contradiction, and the page must not look like one.
 */
export function ProbabilityBars(
  { probabilities, unknown, refusalPoint }: { probabilities: number[]; unknown?: number; refusalPoint?: number | null },
) {
  const ranked = probabilities.map((p, digit) => ({ p, digit })).sort((a, b) => b.p - a.p);
  const off = refusalPoint === null;
  return html`${
    unknown !== undefined && html`
      <div class=${`unknown-bar${off ? " refusal-off" : ""}`} data-testid="unknown-bar" data-p=${unknown}
        title=${off ? "Refusal is off: the answer is always a digit" : `Refused at ${((refusalPoint ?? 0) * 100).toFixed(0)}% or more`}>
        <span class="bar-label">${off ? "not a digit (refusal off)" : "not a digit"}</span>
        <span class="bar-track"><span class="bar-fill" style=${`width:${(unknown * 100).toFixed(1)}%`}></span></span>
        <span class="bar-value">${(unknown * 100).toFixed(1)}%</span>
      </div>
    `
  }<ol class="bars" aria-label="Probability of every digit, highest first">
    ${
    ranked.map(({ p, digit }) =>
      html`
        <li class="bar" key=${digit} data-digit=${digit} data-p=${p}>
          <span class="bar-label">${digit}</span>
          <span class="bar-track"><span class="bar-fill" style=${`width:${(p * 100).toFixed(1)}%`}></span></span>
          <span class="bar-value">${(p * 100).toFixed(1)}%</span>
        </li>
      `
    )
  }
  </ol>`;
}

/** Log-mel dB, time left to right, low frequencies at the bottom; viridis-like colours. */
export function SpectrogramCanvas({ frames, bins, db }: { frames: number; bins: number; db: number[] }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx || !frames) return;
    canvas.width = frames;
    canvas.height = bins;
    const image = ctx.createImageData(frames, bins);
    // A loop, not Math.max(...db): a 55 s clip has 220,000 values, past the engine's argument limit.
    let max = -Infinity, lowest = Infinity;
    for (const v of db) {
      if (v > max) max = v;
      if (v < lowest) lowest = v;
    }
    const min = Math.max(lowest, max - 80);
    for (let t = 0; t < frames; t++) {
      for (let m = 0; m < bins; m++) {
        const v = Math.max(0, Math.min(1, (db[t * bins + m] - min) / (max - min || 1)));
        const at = ((bins - 1 - m) * frames + t) * 4;
        image.data[at] = Math.round(255 * Math.min(1, Math.max(0, 1.6 * v - 0.6)));
        image.data[at + 1] = Math.round(40 + 200 * v);
        image.data[at + 2] = Math.round(120 + 100 * Math.sin(Math.PI * v) - 80 * v);
        image.data[at + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
  }, [frames, bins, db]);
  return html`<canvas ref=${ref} class="spectrogram" role="img" aria-label="Log-mel spectrogram of the detected speech"></canvas>`;
}

/** A digit heard at a place in the recording (a /transcribe segment). */
export interface HeardRegion {
  label: string;
  start_s: number;
  end_s: number;
}

export function WaveformCanvas(
  { samples, sampleRate, speech, regions }: {
    samples: Float32Array;
    sampleRate: number;
    speech?: { start_s: number; end_s: number };
    /** With a digit string: each digit shaded and labelled under its own region, instead of `speech`. */
    regions?: HeardRegion[];
  },
) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx) return;
    const width = (canvas.width = 600);
    const height = (canvas.height = 100);
    ctx.clearRect(0, 0, width, height);
    const duration = samples.length / sampleRate;
    const shade = (r: { start_s: number; end_s: number }) =>
      ctx.fillRect((r.start_s / duration) * width, 0, ((r.end_s - r.start_s) / duration) * width, height);
    ctx.fillStyle = "rgba(255, 160, 0, 0.25)";
    if (regions?.length && duration > 0) regions.forEach(shade);
    else if (speech && duration > 0) shade(speech);
    ctx.strokeStyle = getComputedStyle(canvas).color;
    ctx.beginPath();
    const step = samples.length / width;
    for (let x = 0; x < width; x++) {
      let lo = 0, hi = 0;
      for (let i = Math.floor(x * step); i < Math.floor((x + 1) * step); i++) {
        lo = Math.min(lo, samples[i]);
        hi = Math.max(hi, samples[i]);
      }
      ctx.moveTo(x + 0.5, height / 2 - hi * height / 2);
      ctx.lineTo(x + 0.5, height / 2 - lo * height / 2 + 1);
    }
    ctx.stroke();
    if (regions?.length && duration > 0) {
      ctx.fillStyle = getComputedStyle(canvas).color;
      ctx.font = "bold 16px system-ui, sans-serif";
      ctx.textAlign = "center";
      for (const r of regions) ctx.fillText(r.label, ((r.start_s + r.end_s) / 2 / duration) * width, 16);
    }
  }, [samples, sampleRate, speech, regions]);
  const label = regions?.length
    ? `Waveform; each digit is shaded and labelled where it was heard: ${regions.map((r) => r.label).join(" ")}`
    : "Waveform; the shaded part is where speech was found";
  return html`<canvas ref=${ref} class="waveform" role="img" aria-label=${label}></canvas>`;
}
