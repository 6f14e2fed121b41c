/**
 * `deno task eval --enroll 1,3,5`: what teaching it a voice buys, on speakers the model never heard.
 * For each FSDD speaker, the LOSO fold model trained without them (.cache/loso/<model>/<speaker>/, written by
 * `deno task eval --loso`) hears K takes of each digit as a profile and is tested on the speaker's other takes,
 * over several random draws of the K takes. The profile settings (temperature, weight) are chosen per speaker
 * on the *other* speakers (nested leave-one-speaker-out), so no reported figure picked its own settings; the
 * settings written beside the model are the best over all speakers.
 */
import { extractFeatures } from "../../dsp/features.ts";
import { seededRandom, shuffle } from "../../dsp/random.ts";
import { loadClassifier } from "../files.ts";
import { argmax } from "../model_format.ts";
import { applyProfile, embedClips, type Embedded, makeProfile, type ProfileSettings } from "../profile.ts";
import type { Clip } from "./fsdd.ts";
import { loadAudio } from "./training.ts";

export const TEMPERATURES = [0.02, 0.05, 0.1, 0.2];
export const WEIGHTS = [0.3, 0.5, 0.7, 0.85, 1];
const DRAWS = 5;

export interface EnrollReport {
  /** Takes per digit taught. */
  k: number;
  /** Mean over speakers of the generic model on the same test takes. */
  generic: number;
  /** Mean over speakers with a profile, each at the settings chosen on the other speakers. */
  profile: number;
  perSpeaker: Record<string, { generic: number; profile: number; settings: ProfileSettings }>;
}

export interface EnrollResult {
  foldsDir: string;
  reports: EnrollReport[];
  /** Best settings over every speaker and K: what the model folder keeps. */
  settings: ProfileSettings;
}

/** accuracy[settingIndex] for one speaker and K, plus the generic accuracy, averaged over the draws. */
function scoreSpeaker(clips: Clip[], embedded: Embedded[], k: number, grid: ProfileSettings[], model: string, seed: number) {
  const random = seededRandom(seed);
  const byDigit = Array.from({ length: 10 }, (_, d) => clips.flatMap((c, i) => (c.digit === d ? [i] : [])));
  let generic = 0;
  const profile = new Array<number>(grid.length).fill(0);
  for (let draw = 0; draw < DRAWS; draw++) {
    const taught = new Set(byDigit.flatMap((indices) => shuffle([...indices], random).slice(0, k)));
    const made = makeProfile(model, [...taught].map((i) => ({ digit: clips[i].digit, embedding: embedded[i].embedding })));
    const tested = clips.map((_, i) => i).filter((i) => !taught.has(i));
    generic += tested.filter((i) => argmax(embedded[i].probabilities) === clips[i].digit).length / tested.length / DRAWS;
    grid.forEach((settings, s) => {
      const right = tested.filter((i) => argmax(applyProfile(made, embedded[i], settings)) === clips[i].digit).length;
      profile[s] += right / tested.length / DRAWS;
    });
  }
  return { generic, profile };
}

export async function evaluateEnrollment(clips: Clip[], foldsDir: string, ks: number[]): Promise<EnrollResult> {
  const grid = TEMPERATURES.flatMap((temperature) => WEIGHTS.map((weight) => ({ temperature, weight })));
  const speakers = [...new Set(clips.map((c) => c.speaker))].filter((s) => {
    try {
      return Deno.statSync(`${foldsDir}/${s}/model.json`).isFile;
    } catch {
      return false;
    }
  });
  if (speakers.length < 2) throw new Error(`--enroll needs LOSO fold models in ${foldsDir}/<speaker>/: run deno task eval --loso first`);
  // scores[k][speaker] = { generic, profile[setting] }
  const scores = ks.map(() => new Map<string, ReturnType<typeof scoreSpeaker>>());
  for (const speaker of speakers) {
    const classifier = await loadClassifier(`${foldsDir}/${speaker}`);
    const own = clips.filter((c) => c.speaker === speaker);
    const audio = await loadAudio(own.map((c) => c.path), classifier.features.config.sampleRate);
    const embedded = embedClips(classifier, audio.map((a) => extractFeatures(a, classifier.features.config).views));
    const model = `${classifier.identity.name}@${classifier.identity.version}`;
    ks.forEach((k, j) => scores[j].set(speaker, scoreSpeaker(own, embedded, k, grid, model, 1000 + k)));
    classifier.model.dispose();
    console.log(`  enrolled ${speaker} (${own.length} clips)`);
  }
  // A setting's worth on a set of speakers: its profile accuracy averaged over them and over every K.
  const worth = (s: number, on: string[]) =>
    scores.reduce((sum, byK) => sum + on.reduce((t, sp) => t + byK.get(sp)!.profile[s], 0) / on.length, 0) / ks.length;
  const bestOn = (on: string[]) => grid.reduce((best, _, s) => (worth(s, on) > worth(best, on) ? s : best), 0);
  const chosenFor = new Map(speakers.map((sp) => [sp, bestOn(speakers.filter((o) => o !== sp))]));
  const reports = ks.map((k, j): EnrollReport => {
    const perSpeaker = Object.fromEntries(speakers.map((sp) => {
      const score = scores[j].get(sp)!;
      const s = chosenFor.get(sp)!;
      return [sp, { generic: score.generic, profile: score.profile[s], settings: grid[s] }];
    }));
    const mean = (pick: (r: EnrollReport["perSpeaker"][string]) => number) =>
      Object.values(perSpeaker).reduce((sum, r) => sum + pick(r), 0) / speakers.length;
    return { k, generic: mean((r) => r.generic), profile: mean((r) => r.profile), perSpeaker };
  });
  return { foldsDir, reports, settings: grid[bestOn(speakers)] };
}
