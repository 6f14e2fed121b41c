/**
 * What a model folder holds, and the parts of it that need no file system (shared with the browser):
 *   model.json + weights.bin  tfjs layers format (tf.loadLayersModel reads it in a browser)
 *   features.json             the FeatureConfig and normalization statistics: how to feed the model
 *   metrics.json              what it scored, on what split, trained how
 */
import type { FeatureConfig, FeatureStats } from "../dsp/config.ts";
import type { ProfileSettings } from "./profile.ts";

/** Index of the largest value: the predicted class. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export interface FeaturesFile {
  config: FeatureConfig;
  stats: FeatureStats;
  /** How a speaker profile weighs in (models/profile.ts); absent: DEFAULT_PROFILE_SETTINGS. */
  profile?: ProfileSettings;
  /**
   * The network's refusal point (its 11th class, or its confidence): "not a digit" >= threshold is refused; null: no
   * refusal unless the caller asks for it (?reject=P). measuredThreshold: the point measured on held-out speakers
   * (models/lab/unknown_class.ts).
   */
  refusal?: {
    threshold: number | null;
    measuredThreshold?: number;
    /**
     * What "not a digit" is read from: the network's 11th class (the default), or "confidence": 1 minus the top
     * digit probability of a 10-class network (no class of its own; chosen where it refused more on held-out data).
     */
    by?: "class" | "confidence";
  };
}

export interface ModelIdentity {
  name: string;
  /** First 8 hex digits of the SHA-256 of weights.bin: changes whenever the weights do. */
  version: string;
}

/** name@version: how answers, profiles and refusal heads name the model they belong to. */
export const modelId = (identity: ModelIdentity): string => `${identity.name}@${identity.version}`;

/** IEEE 754 half precision from single precision (round to nearest even), as a uint16 bit pattern. */
export function float32ToFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && (half & 1))) half++;
    return sign | half;
  }
  // A rounding carry rolls into the exponent, which is the right result (up to infinity).
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}
