/**
 * "Teach it your voice": a speaker profile is one prototype per digit, the mean of that speaker's takes in the
 * profile's space (ProfileSettings.space): the network's penultimate layer (the features the last, dense layer
 * weighs), or for a model on the speech embedding, the embedding's own vectors. At prediction the clip's own vector
 * in that space is compared with the prototypes (cosine), and that vote reshapes the generic answer among the
 * digits the profile has; digits it lacks keep the generic probabilities. No weights change, so teaching is
 * instant (a forward pass per take), cannot forget other voices, and the profile is a few KB (the embedding's vectors: ~75 KB).
 * Shared by the server and the browser: no file system, no Hono.
 */
import * as tf from "@tensorflow/tfjs";
import { argmax, type Classifier, clipAnswer, type KnownVectors, meanOverViews, networkInput, outputClasses } from "./classifier.ts";
import { modelId } from "./model_format.ts";
import { embeddingSize as networkEmbeddingSize, forward } from "./network.ts";
import { type Batching, inBatches, runSteps, type Steps } from "./steps.ts";

/** How strongly a profile's prototypes speak (stored in features.json as `profile`; chosen on unseen speakers). */
export interface ProfileSettings {
  /** Softmax temperature over the cosine similarities to the prototypes. */
  temperature: number;
  /** 0 = the generic answer, 1 = the prototypes alone (among the digits the profile has). */
  weight: number;
  /**
   * The weight for a digit taught with n takes is weightByTakes[n - 1] (the last entry beyond): one take is a
   * noisier prototype than five, so it is trusted less. Absent: `weight` for every digit.
   */
  weightByTakes?: number[];
  /**
   * Where the prototypes live. "network" (absent: the same): the network's penultimate layer. "vectors": the speech
   * embedding's vectors the head reads (every window's, normalized as the head sees them, one flat vector), for
   * embedding models only. The head's layer was trained to tell FSDD's few men apart; the embedding heard a great
   * many voices, and one take per digit placed there helps where the head's layer hurt (models/README.md).
   */
  space?: "network" | "vectors";
  /**
   * How the prototypes' vote meets the generic answer. "linear" (absent: the same): (1 - w) * generic + w * vote.
   * "geometric": generic^(1 - w) * vote^w, renormalized: a product of the two, so a digit that either one finds
   * unlikely loses, where the linear blend keeps a share of each one's answer.
   */
  blend?: "linear" | "geometric";
}

/** Used for a model folder whose features.json has no `profile` settings. */
export const DEFAULT_PROFILE_SETTINGS: ProfileSettings = { temperature: 0.05, weight: 0.7 };

export const PROFILE_FORMAT = "spoken-digits-profile/1";
export const MAX_TAKES_PER_DIGIT = 5;

export interface Profile {
  /** name@version of the model it was made with: its embeddings mean nothing to another one. */
  model: string;
  /** Takes per digit, 0-9. */
  takes: number[];
  /** Unit-length prototype per digit (null where the profile has no take of it). */
  prototypes: (Float32Array | null)[];
}

export type ProfileErrorCode = "bad_profile" | "profile_mismatch";

export class ProfileError extends Error {
  constructor(readonly code: ProfileErrorCode, message: string) {
    super(message);
  }
}

export interface Embedded {
  /** Generic probabilities of 0-9, the mean over the clip's views (as classifyClips). */
  probabilities: Float32Array;
  /** "Not a digit" from the network's 11th class or its confidence, as answerClips. */
  unknown?: number;
  /** Unit-length mean over the views of the network's penultimate layer (what a refusal head reads). */
  embedding: Float32Array;
  /** Unit-length mean over the views in the profile's space (ProfileSettings.space): what prototypes are made of. */
  voice: Float32Array;
}

/** The space a classifier's profiles live in (its features.json `profile.space`). */
export function profileSpace(classifier: Classifier): "network" | "vectors" {
  const space = classifier.features.profile?.space ?? "network";
  if (space === "vectors" && !classifier.embedding) throw new Error(`profile space "vectors" needs a speech embedding model`);
  return space;
}

/** For each clip (its feature views, un-normalized): the generic answer and its embeddings. Frees every tensor. */
export function embedClips(classifier: Classifier, clips: Float32Array[][], known?: KnownVectors): Embedded[] {
  const vectors = clips.flat();
  if (vectors.length === 0) return [];
  const onVectors = profileSpace(classifier) === "vectors";
  // Read outside tf.tidy: it would walk returned typed arrays element by element.
  const tensors = tf.tidy(() => {
    const input = networkInput(classifier, vectors, known);
    const { embedding, output } = forward(classifier.model, input);
    return onVectors ? [embedding, output, input] : [embedding, output];
  });
  const [embeddings, probabilities, inputs] = tensors.map((t) => t.dataSync() as Float32Array);
  const [dim, inputDim] = [tensors[0].shape[1] as number, tensors[2]?.shape[1] as number];
  tf.dispose(tensors);
  const classes = outputClasses(classifier);
  const rows = vectors.map((_, i) => probabilities.subarray(i * classes, (i + 1) * classes));
  const answers = meanOverViews(rows, clips).map((row) => clipAnswer(classifier, row));
  let next = 0;
  return clips.map((views, c) => {
    const first = next;
    next += views.length;
    const embedding = meanOfRows(embeddings, dim, first, next);
    return { ...answers[c], embedding, voice: onVectors ? meanOfRows(inputs, inputDim, first, next) : embedding };
  });
}

/** The unit-length mean of rows [from, to) of a flat [rows][dim] array. */
function meanOfRows(flat: Float32Array, dim: number, from: number, to: number): Float32Array {
  const sum = new Float32Array(dim);
  for (let r = from; r < to; r++) {
    for (let k = 0; k < dim; k++) sum[k] += flat[r * dim + k];
  }
  return unit(sum);
}

function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return v.map((x) => x / norm);
}

/** A profile from labelled takes' vectors in the profile's space (embedClips' `voice`). */
export function makeProfile(model: string, takes: { digit: number; voice: Float32Array }[]): Profile {
  const sums: (Float32Array | null)[] = Array.from({ length: 10 }, () => null);
  const counts = new Array<number>(10).fill(0);
  for (const { digit, voice } of takes) {
    const sum = sums[digit] ??= new Float32Array(voice.length);
    voice.forEach((x, k) => (sum[k] += x));
    counts[digit]++;
  }
  return { model, takes: counts, prototypes: sums.map((s) => (s ? unit(s) : null)) };
}

/**
 * The speaker's answer: among the digits the profile has, the generic probabilities blended (settings.blend) with a
 * softmax over cosine similarities to their prototypes, keeping the generic mass those digits had; other digits as is.
 */
export function applyProfile(profile: Profile, embedded: Embedded, settings: ProfileSettings): Float32Array {
  const known = profile.prototypes.flatMap((p, d) => (p ? [d] : []));
  const out = Float32Array.from(embedded.probabilities);
  if (known.length === 0) return out;
  const similarity = known.map((d) => dot(profile.prototypes[d]!, embedded.voice) / settings.temperature);
  const top = Math.max(...similarity);
  const exps = similarity.map((s) => Math.exp(s - top));
  const total = exps.reduce((a, b) => a + b, 0);
  const mass = known.reduce((sum, d) => sum + embedded.probabilities[d], 0);
  const byTakes = settings.weightByTakes;
  const weightOf = (d: number) => byTakes?.length ? byTakes[Math.min(profile.takes[d], byTakes.length) - 1] : settings.weight;
  known.forEach((d, i) => {
    const [generic, vote, weight] = [embedded.probabilities[d], exps[i] / total, weightOf(d)];
    out[d] = settings.blend === "geometric"
      ? Math.max(generic, 1e-12) ** (1 - weight) * vote ** weight
      : (1 - weight) * generic + weight * mass * vote;
  });
  // A geometric blend, or a linear one with different weights per digit, does not sum to `mass`: scale it back.
  const blended = known.reduce((sum, d) => sum + out[d], 0);
  if (blended > 0) known.forEach((d) => (out[d] *= mass / blended));
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k] * b[k];
  return sum;
}

export interface HeardTake {
  digit: number;
  /** 1-based among the takes of its digit. */
  take: number;
  /** What the generic model heard. */
  answer: number;
  confidence: number;
  /**
   * What the profile made of the *other* takes answers for this one (leave-one-take-out): what teaching does
   * for a take it has not seen. Equals `answer` for a digit's only take.
   */
  taught: number;
}

/**
 * Labelled takes (their feature views) -> the profile and how each take is heard before and after teaching.
 * /adapt and the in-browser teacher both call this.
 */
export function adaptToTakes(
  classifier: Classifier,
  takes: { digit: number; views: Float32Array[] }[],
): { profile: Profile; heard: HeardTake[] } {
  return runSteps(adaptToTakesSteps(classifier, takes));
}

/** adaptToTakes() in steps (models/steps.ts): the takes through the network in batches (`batching`; by default one). */
export function* adaptToTakesSteps(
  classifier: Classifier,
  takes: { digit: number; views: Float32Array[] }[],
  batching: Batching = {},
): Steps<{ profile: Profile; heard: HeardTake[] }> {
  const model = modelId(classifier.identity);
  const embedded = (yield* inBatches(takes.map((t) => t.views), (clips) => embedClips(classifier, clips), batching)).results;
  const labelled = takes.map((t, i) => ({ digit: t.digit, voice: embedded[i].voice }));
  const settings = classifier.features.profile ?? DEFAULT_PROFILE_SETTINGS;
  const heard = takes.map((t, i): HeardTake => {
    const answer = argmax(embedded[i].probabilities);
    const others = makeProfile(model, labelled.filter((_, j) => j !== i));
    return {
      digit: t.digit,
      take: takes.slice(0, i + 1).filter((o) => o.digit === t.digit).length,
      answer,
      confidence: Math.round(embedded[i].probabilities[answer] * 1e6) / 1e6,
      taught: argmax(applyProfile(others, embedded[i], settings)),
    };
  });
  return { profile: makeProfile(model, labelled), heard };
}

/** The opaque string clients carry: base64url of a small JSON whose prototypes are base64 float32. */
export function encodeProfile(profile: Profile): string {
  const dim = profile.prototypes.find((p) => p)?.length ?? 0;
  const flat = new Float32Array(10 * dim);
  profile.prototypes.forEach((p, d) => p && flat.set(p, d * dim));
  const json = JSON.stringify({
    format: PROFILE_FORMAT,
    model: profile.model,
    takes: profile.takes,
    dim,
    prototypes: toBase64(new Uint8Array(flat.buffer)),
  });
  return toBase64(new TextEncoder().encode(json)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Longest profile string accepted. A real one is 2-7 KB in the network's space and ~75 KB in the embedding's vectors
 * (ten prototypes of 11 x 96 float32, base64 twice); the page's limit for an exported file is a little more.
 */
export const MAX_PROFILE_CHARS = 128 * 1024;

/** Parses and checks a profile string for `classifier`: ProfileError "bad_profile" or "profile_mismatch". */
export function decodeProfile(text: string, classifier: Classifier): Profile {
  const size = profileSize(classifier);
  const bad = (why: string) => new ProfileError("bad_profile", `the profile is not valid: ${why}`);
  if (text.length > MAX_PROFILE_CHARS) throw bad(`longer than ${MAX_PROFILE_CHARS} characters`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(fromBase64(text.trim().replaceAll("-", "+").replaceAll("_", "/"))),
    );
  } catch {
    throw bad("not a profile string (it should be the text /adapt returned, unchanged)");
  }
  if (parsed === null || typeof parsed !== "object" || parsed.format !== PROFILE_FORMAT) throw bad(`not in the format ${PROFILE_FORMAT}`);
  const model = modelId(classifier.identity);
  if (typeof parsed.model !== "string") throw bad("it names no model");
  if (parsed.model !== model) {
    throw new ProfileError(
      "profile_mismatch",
      `the profile was made for the model ${
        parsed.model.slice(0, 60)
      }, and this answer would come from ${model}: teach it again (POST /adapt) for this model`,
    );
  }
  const takes = parsed.takes;
  if (!Array.isArray(takes) || takes.length !== 10 || !takes.every((n) => Number.isInteger(n) && n >= 0 && n <= MAX_TAKES_PER_DIGIT)) {
    throw bad(`"takes" must be ten counts of 0-${MAX_TAKES_PER_DIGIT}`);
  }
  if (typeof parsed.dim !== "number") {
    throw bad(`"dim" must be a number (values per prototype), not ${JSON.stringify(parsed.dim)?.slice(0, 20)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(String(parsed.prototypes));
  } catch {
    throw bad("the prototypes are not base64");
  }
  if (parsed.dim !== size) {
    // Well formed, same model and version, another size: made before this model's profiles moved to another space.
    if (!Number.isInteger(parsed.dim) || parsed.dim <= 0 || bytes.length !== 10 * parsed.dim * 4) {
      throw bad(`its prototypes have ${String(parsed.dim).slice(0, 10)} values, the model's ${size}`);
    }
    throw new ProfileError(
      "profile_mismatch",
      `the profile's prototypes have ${parsed.dim} values and ${model}'s profiles ${size}: it was made before this model's ` +
        `profiles changed; teach it again (POST /adapt)`,
    );
  }
  if (bytes.length !== 10 * size * 4) throw bad("the prototypes have the wrong length");
  const flat = new Float32Array(bytes.slice().buffer);
  const prototypes = takes.map((n: number, d: number) => {
    if (n === 0) return null;
    const p = flat.slice(d * size, (d + 1) * size);
    const norm = Math.sqrt(dot(p, p));
    if (!Number.isFinite(norm) || Math.abs(norm - 1) > 1e-3) throw bad(`the prototype of ${d} is not a unit vector`);
    return p;
  });
  return { model, takes, prototypes };
}

/** Values per prototype of the model's profiles: its penultimate layer's, or the head's input's (space "vectors"). */
export function profileSize(classifier: Classifier): number {
  if (profileSpace(classifier) === "vectors") return classifier.model.inputs[0].shape[1] as number;
  return networkEmbeddingSize(classifier.model);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
