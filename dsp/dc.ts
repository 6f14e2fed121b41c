/**
 * DC offset removal. Cheap microphones and some sound cards record with a constant offset; left in, it raises
 * every frame's energy (so the speech finder sees no contrast: a "seven" with a 0.1 offset was "no speech") and
 * leaks into the lowest FFT bins. Subtracting the clip's mean removes a constant offset exactly and leaves every
 * other frequency untouched, so clean recordings (FSDD's means are ~1e-4) give the same features as before.
 */
export function removeDc(samples: Float32Array): Float32Array {
  if (samples.length === 0) return samples;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i];
  const mean = sum / samples.length;
  if (mean === 0) return samples;
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] - mean;
  return out;
}
