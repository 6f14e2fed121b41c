/** A high-pass filter for the speech detectors: bass noise (pink, traffic, hum) out, formants kept. Pure. */
/**
 * RBJ cookbook 2nd-order high-pass, Q = 1/sqrt(2) (Butterworth), direct form I. `state` (x1, x2, y1, y2)
 * carries the filter across the chunks of a stream; the returned state continues it.
 */
export function highPass(
  samples: Float32Array,
  sampleRate: number,
  cutoffHz: number,
  state: ArrayLike<number> = [0, 0, 0, 0],
): { samples: Float32Array; state: Float32Array } {
  if (cutoffHz <= 0) return { samples, state: Float32Array.from(state) };
  const w = 2 * Math.PI * cutoffHz / sampleRate;
  const alpha = Math.sin(w) / Math.SQRT2;
  const cos = Math.cos(w);
  const a0 = 1 + alpha;
  const [b0, b1, b2] = [(1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0];
  const [a1, a2] = [-2 * cos / a0, (1 - alpha) / a0];
  const out = new Float32Array(samples.length);
  let [x1, x2, y1, y2] = Array.from(state);
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    const y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    [x2, x1, y2, y1] = [x1, x, y1, y];
    out[i] = y;
  }
  return { samples: out, state: Float32Array.from([x1, x2, y1, y2]) };
}
