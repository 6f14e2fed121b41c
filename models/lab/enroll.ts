/**
 * `deno task eval --enroll 1,3,5`: what teaching it a voice buys, on speakers the model never heard.
 * For each FSDD speaker, the LOSO fold model trained without them (.cache/loso/<model>/<speaker>/, written by
 * `deno task eval --loso`) hears K takes of each digit as a profile and is tested on the speaker's other takes,
 * over several random draws of the K takes. The profile settings (blend, temperature, weight) are chosen per speaker
 * on the *other* speakers (nested leave-one-speaker-out), so no reported figure picked its own settings; the
 * settings written beside the model are the best over all speakers.
 */
import { extractFeatures } from "../../dsp/features.ts";
import { seededRandom, shuffle } from "../../dsp/random.ts";
import { loadClassifier } from "../files.ts";
import { argmax, modelId } from "../model_format.ts";
import { applyProfile, DEFAULT_PROFILE_SETTINGS, embedClips, type Embedded, makeProfile, type ProfileSettings } from "../profile.ts";
import { loadAudio } from "./training.ts";

// 0.3 and 0.5: the embedding's own vectors (ProfileSettings.space "vectors") are far less spread than the head's
// layer, and their best temperatures lay at 0.2, the old grid's edge.
export const TEMPERATURES = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5];
export const WEIGHTS = [0.3, 0.5, 0.7, 0.85, 1];
export const BLENDS = ["linear", "geometric"] as const;
const DRAWS = 5;

export interface EnrollReport {
  /** Takes per digit taught. */
  k: number;
  /** Mean over speakers of the generic model on the same test takes. */
  generic: number;
  /** Mean over speakers with a profile, each at the settings chosen on the other speakers. */
  profile: number;
  /** The speaker the profile helps least, and their accuracy with it. */
  worst: number;
  worstSpeaker: string;
  perSpeaker: Record<string, { generic: number; profile: number; settings: ProfileSettings }>;
}

export interface EnrollResult {
  /** Where the models came from: the LOSO folds, or a manifest on the shipped model. */
  source: string;
  reports: EnrollReport[];
  /** Best settings over every speaker and K: what the model folder keeps. */
  settings: ProfileSettings;
}

/** accuracy[settingIndex] for one speaker and K, plus the generic accuracy, averaged over the draws. */
function scoreSpeaker(clips: SpeakerClip[], embedded: Embedded[], k: number, grid: ProfileSettings[], model: string, seed: number) {
  const random = seededRandom(seed);
  const byDigit = Array.from({ length: 10 }, (_, d) => clips.flatMap((c, i) => (c.digit === d ? [i] : [])));
  let generic = 0;
  const profile = new Array<number>(grid.length).fill(0);
  for (let draw = 0; draw < DRAWS; draw++) {
    const taught = new Set(byDigit.flatMap((indices) => shuffle([...indices], random).slice(0, k)));
    const made = makeProfile(model, [...taught].map((i) => ({ digit: clips[i].digit, voice: embedded[i].voice })));
    const tested = clips.map((_, i) => i).filter((i) => !taught.has(i));
    generic += tested.filter((i) => argmax(embedded[i].probabilities) === clips[i].digit).length / tested.length / DRAWS;
    grid.forEach((settings, s) => {
      const right = tested.filter((i) => argmax(applyProfile(made, embedded[i], settings)) === clips[i].digit).length;
      profile[s] += right / tested.length / DRAWS;
    });
  }
  return { generic, profile };
}

/** A labelled recording of a known speaker (an FSDD clip, or a row of a manifest.csv). */
export interface SpeakerClip {
  path: string;
  digit: number;
  speaker: string;
}

/** Each speaker's LOSO fold model, where `foldsDir` has one. */
export function foldModelFor(foldsDir: string): (speaker: string) => string | null {
  return (speaker) => {
    try {
      return Deno.statSync(`${foldsDir}/${speaker}/model.json`).isFile ? `${foldsDir}/${speaker}` : null;
    } catch {
      return null;
    }
  };
}

/**
 * `manifest.csv` (path,label,speaker; paths relative to the file; any format we decode): anyone's own
 * recordings, every speaker taught and tested on `modelDir` (the shipped model: these speakers are new to it).
 */
export function readManifest(file: string): SpeakerClip[] {
  const [header, ...lines] = Deno.readTextFileSync(file).trim().split(/\r?\n/);
  const columns = header.split(",").map((c) => c.trim());
  const at = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`${file}: no "${name}" column (need path,label,speaker)`);
    return i;
  };
  const [path, label, speaker] = [at("path"), at("label"), at("speaker")];
  const base = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  return lines.filter((l) => l.trim()).map((line) => {
    const cells = line.split(",");
    const digit = Number(cells[label]);
    if (!Number.isInteger(digit) || digit < 0 || digit > 9) throw new Error(`${file}: label "${cells[label]}" is not a digit`);
    const p = cells[path].trim();
    return { path: p.startsWith("/") ? p : base + p, digit, speaker: cells[speaker].trim() };
  });
}

export async function evaluateEnrollment(
  clips: SpeakerClip[],
  modelFor: (speaker: string) => string | null,
  ks: number[],
  source: string,
  /** Where the prototypes live (ProfileSettings.space); absent: each model's own setting. */
  space?: ProfileSettings["space"],
): Promise<EnrollResult> {
  const grid: ProfileSettings[] = BLENDS.flatMap((blend) =>
    TEMPERATURES.flatMap((temperature) => WEIGHTS.map((weight) => ({ blend, temperature, weight })))
  );
  const speakers = [...new Set(clips.map((c) => c.speaker))].filter((s) => modelFor(s) !== null);
  if (speakers.length < 2) throw new Error(`--enroll needs at least two speakers with a model (${source})`);
  // scores[k][speaker] = { generic, profile[setting] }
  const scores = ks.map(() => new Map<string, ReturnType<typeof scoreSpeaker>>());
  for (const speaker of speakers) {
    const classifier = await loadClassifier(modelFor(speaker)!);
    if (space) {
      classifier.features = { ...classifier.features, profile: { ...DEFAULT_PROFILE_SETTINGS, ...classifier.features.profile, space } };
    }
    const own = clips.filter((c) => c.speaker === speaker);
    const audio = await loadAudio(own.map((c) => c.path), classifier.features.config.sampleRate);
    const embedded = embedClips(classifier, audio.map((a) => extractFeatures(a, classifier.features.config).views));
    const model = modelId(classifier.identity);
    ks.forEach((k, j) => scores[j].set(speaker, scoreSpeaker(own, embedded, k, grid, model, 1000 + k)));
    classifier.model.dispose();
    console.log(`  enrolled ${speaker} (${own.length} clips)`);
  }
  // A setting's worth at the j-th K on a set of speakers: its profile accuracy averaged over them. Each K gets its
  // own setting (a profile of one take per digit is trusted less than one of five), chosen on the other speakers.
  const worth = (j: number, s: number, on: string[]) => on.reduce((t, sp) => t + scores[j].get(sp)!.profile[s], 0) / on.length;
  const bestOn = (j: number, on: string[]) => grid.reduce((best, _, s) => (worth(j, s, on) > worth(j, best, on) ? s : best), 0);
  const reports = ks.map((k, j): EnrollReport => {
    const perSpeaker = Object.fromEntries(speakers.map((sp) => {
      const score = scores[j].get(sp)!;
      const s = bestOn(j, speakers.filter((o) => o !== sp));
      return [sp, { generic: score.generic, profile: score.profile[s], settings: grid[s] }];
    }));
    const mean = (pick: (r: EnrollReport["perSpeaker"][string]) => number) =>
      Object.values(perSpeaker).reduce((sum, r) => sum + pick(r), 0) / speakers.length;
    const worst = Object.entries(perSpeaker).reduce((a, b) => (b[1].profile < a[1].profile ? b : a));
    return {
      k,
      generic: mean((r) => r.generic),
      profile: mean((r) => r.profile),
      worst: worst[1].profile,
      worstSpeaker: worst[0],
      perSpeaker,
    };
  });
  // Kept beside the model: one blend and temperature (the best over every K > 0), and the best weight at them for 1-5
  // takes (a K not measured takes the nearest measured one below it).
  const taught = ks.map((k, j) => ({ k, j })).filter(({ k }) => k > 0);
  const overall = (s: number) => taught.reduce((sum, { j }) => sum + worth(j, s, speakers), 0);
  const { blend, temperature } = grid[grid.reduce((best, _, s) => (overall(s) > overall(best) ? s : best), 0)];
  const weightAt = (j: number) =>
    WEIGHTS.reduce((best, w) => {
      const at = (x: number) =>
        worth(j, grid.findIndex((g) => g.blend === blend && g.temperature === temperature && g.weight === x), speakers);
      return at(w) > at(best) ? w : best;
    }, WEIGHTS[0]);
  const weightByTakes = [1, 2, 3, 4, 5].map((n) => {
    const below = taught.filter(({ k }) => k <= n).pop() ?? taught[0];
    return weightAt(below.j);
  });
  const settings: ProfileSettings = { temperature, weight: weightByTakes[0], weightByTakes, blend, ...(space ? { space } : {}) };
  return { source, reports, settings };
}
