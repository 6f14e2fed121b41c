/**
 * deno task voices [--out .cache/voices] [--per-engine N]
 * Synthetic spoken digits from Debian's text-to-speech engines (espeak-ng dialects x voice variants x
 * pitch and rate, flite's voices, festival's voices), written as `<digit>_<engine>-<voice>.wav` into a
 * cache folder that git ignores. `deno task train --voices <dir>` mixes them into training.
 * Engines that are not installed are skipped and said so.
 */
import { parseArgs } from "node:util";
import { seededRandom, shuffle } from "../dsp/random.ts";

export const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

export interface Voice {
  /** File-name safe id, unique per voice. */
  id: string;
  /** Writes the WAV for `word` to `path`. */
  command(word: string, path: string): string[];
}

const ESPEAK_DIALECTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
const ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "Andy", "Annie", "Denis", "Linda", "Michael", "Alicia"];
const FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"];
const FESTIVAL_VOICES = ["cmu_us_slt_arctic_hts", "kal_diphone"];

export function espeakVoices(random = seededRandom(11)): Voice[] {
  const voices: Voice[] = [];
  for (const dialect of ESPEAK_DIALECTS) {
    for (const variant of ESPEAK_VARIANTS) {
      // One pitch and rate per dialect x variant, drawn once: more distinct voices rather than more takes.
      const pitch = 25 + Math.floor(random() * 50);
      const rate = 120 + Math.floor(random() * 70);
      voices.push({
        id: `espeak-${dialect}-${variant}-p${pitch}-s${rate}`,
        command: (word, path) => ["espeak-ng", "-v", `${dialect}+${variant}`, "-p", String(pitch), "-s", String(rate), "-w", path, word],
      });
    }
  }
  return voices;
}

export function fliteVoices(): Voice[] {
  return FLITE_VOICES.flatMap((voice) =>
    [0.85, 1, 1.15].map((stretch) => ({
      id: `flite-${voice}-r${stretch}`,
      command: (word: string, path: string) => ["flite", "-voice", voice, "--setf", `duration_stretch=${stretch}`, "-t", word, "-o", path],
    }))
  );
}

export function festivalVoices(): Voice[] {
  return FESTIVAL_VOICES.flatMap((voice) =>
    [0.9, 1.1].map((stretch) => ({
      id: `festival-${voice}-r${stretch}`,
      command: (word: string, path: string) => [
        "sh",
        "-c",
        `echo "$0" | text2wave -o "$1" -eval "(voice_${voice})" -eval "(Parameter.set 'Duration_Stretch ${stretch})"`,
        word,
        path,
      ],
    }))
  );
}

function installed(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** The voices whose engines are installed here, per engine. */
export function availableVoices(): Record<string, Voice[]> {
  const engines: Record<string, Voice[]> = {};
  if (installed("espeak-ng", ["--version"])) engines["espeak-ng"] = espeakVoices();
  if (installed("flite", ["-lv"])) engines.flite = fliteVoices();
  if (installed("text2wave", ["-h"])) engines.festival = festivalVoices();
  return engines;
}

/** Synthesizes every digit with every voice; returns how many files were written per engine. */
export async function generateVoices(out: string, voices: Voice[]): Promise<number> {
  await Deno.mkdir(out, { recursive: true });
  let written = 0;
  for (const voice of voices) {
    for (const [digit, word] of WORDS.entries()) {
      const path = `${out}/${digit}_${voice.id}.wav`;
      const [cmd, ...args] = voice.command(word, path);
      const { success } = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
      if (success) written++;
    }
  }
  return written;
}

/** Synthetic clips in a folder, with their labels (the digit is the first character of the name). */
export function listVoiceClips(dir: string): Array<{ path: string; digit: number; speaker: string }> {
  return [...Deno.readDirSync(dir)]
    .filter((e) => /^\d_.+\.wav$/.test(e.name))
    .map((e) => ({ path: `${dir}/${e.name}`, digit: +e.name[0], speaker: e.name.slice(2, -4) }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

if (import.meta.main) {
  const { values: args } = parseArgs({ options: { out: { type: "string", default: ".cache/voices" }, "per-engine": { type: "string" } } });
  const engines = availableVoices();
  for (const engine of ["espeak-ng", "flite", "festival"]) if (!engines[engine]) console.log(`${engine}: not installed, skipped`);
  for (const [engine, all] of Object.entries(engines)) {
    const voices = args["per-engine"] ? shuffle([...all], seededRandom(3)).slice(0, +args["per-engine"]) : all;
    const started = performance.now();
    const written = await generateVoices(args.out, voices);
    console.log(`${engine}: ${voices.length} voices, ${written} clips in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${args.out}`);
  }
}
