/**
 * "Not a digit" data, for the DS-CNN's 11th class (nonDigitClips), the refusal head (models/reject.ts) and their measurement:
 *   - words and names spoken by Debian's TTS engines (`deno task nondigits` writes them into .cache/nondigits,
 *     which git ignores; the word lists are in models/lab/words/), near-digits ("oh", "ten", "free", "nein") included;
 *   - made from digit clips: reversed, scrambled in time, cut in half, two run together;
 *   - not speech: coughs, breaths, clicks, tones, chords.
 * The neural voices speak the words too, from espeak-ng's phonemes: Kokoro (models/lab/voices_kokoro.py, rewritten
 * in its misaki alphabet) with the training engines, Piper (models/lab/voices_piper.py) held out with flite.
 */
import { parseArgs } from "node:util";
import { seededRandom, shuffle, uniform } from "../../dsp/random.ts";
import type { Random } from "../../dsp/random.ts";
import { findSpeech } from "../../dsp/speech.ts";
import type { SpeechConfig } from "../../dsp/config.ts";
import { espeakVoices, festivalVoices, fliteVoices, kokoroPython, piperPython, type Voice } from "./voices.ts";
import { type LabelledAudio, loadAudio, NOT_A_DIGIT } from "./training.ts";

export const NONDIGITS_DIR = ".cache/nondigits";
const LISTS = ["near_digits", "names", "common"];
/** Engines whose training words the head learns from. */
const TRAINING_ENGINES = ["espeak", "festival", "kokoro"];
/** Engines it never hears: only their test words are listed, for measuring it. */
const HELD_OUT_ENGINES = ["flite", "piper"];

/** Every word of the lists (comments and blank lines skipped), with the list it came from. */
export function wordLists(): { word: string; list: string }[] {
  return LISTS.flatMap((list) =>
    Deno.readTextFileSync(new URL(`./words/${list}.txt`, import.meta.url)).split("\n").map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#")).map((word) => ({ word, list }))
  );
}

/** Every fifth word of each list is for testing only: the head never hears those words. */
export const isTestWord = (index: number) => index % 5 === 4;

export interface WordClip {
  path: string;
  word: string;
  engine: string;
  /** Held-out: a test word, spoken by a held-out engine (flite, piper). */
  test: boolean;
}

/** One engine's word clips on disk (`<engine>/<index>_<voice>.wav`), sorted by name; none when it has no folder. */
function engineClips(dir: string, engine: string, words = wordLists()): { path: string; word: string; index: number }[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${dir}/${engine}`)];
  } catch {
    return [];
  }
  return entries.filter((e) => e.name.endsWith(".wav")).sort((a, b) => (a.name < b.name ? -1 : 1)).map((e) => {
    const index = parseInt(e.name);
    return { path: `${dir}/${engine}/${e.name}`, word: words[index].word, index };
  });
}

/** The word clips on disk: training words from the training engines, test words from the held-out engines only. */
export function listWordClips(dir = NONDIGITS_DIR): WordClip[] {
  const words = wordLists();
  return [...TRAINING_ENGINES, ...HELD_OUT_ENGINES].flatMap((engine) => {
    const test = HELD_OUT_ENGINES.includes(engine);
    return engineClips(dir, engine, words).filter((c) => test === isTestWord(c.index))
      .map(({ path, word }) => ({ path, word, engine, test }));
  });
}

/** Digit clips made into non-digits: reversed, scrambled in 50 ms pieces, half a word, two words run together. */
export function madeFromDigits(
  clips: Float32Array[],
  sampleRate: number,
  speech: SpeechConfig,
  count: number,
  random: Random,
): Float32Array[] {
  const pick = () => clips[Math.floor(random() * clips.length)];
  const trim = (x: Float32Array) => {
    const s = findSpeech(x, sampleRate, { ...speech, padS: 0.02 });
    return x.subarray(s.start, s.end);
  };
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    try {
      if (kind === 0) out.push(pick().slice().reverse());
      else if (kind === 1) {
        const x = trim(pick());
        const piece = Math.round(0.05 * sampleRate);
        const pieces = Array.from({ length: Math.ceil(x.length / piece) }, (_, k) => x.subarray(k * piece, (k + 1) * piece));
        out.push(concat(shuffle(pieces, random)));
      } else if (kind === 2) {
        const x = trim(pick());
        const half = Math.round(x.length * uniform(random, 0.35, 0.5));
        out.push(random() < 0.5 ? x.slice(0, half) : x.slice(x.length - half));
      } else out.push(concat([trim(pick()), trim(pick())]));
    } catch { /* a clip findSpeech refuses is skipped */ }
  }
  return out;
}

/** Sounds that are not speech: coughs and breaths (shaped noise), clicks, tones with vibrato, chords. */
export function notSpeech(sampleRate: number, count: number, random: Random): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const seconds = uniform(random, 0.2, 1.2);
    const n = Math.round(seconds * sampleRate);
    const x = new Float32Array(n);
    const kind = i % 5;
    const amp = 10 ** (uniform(random, -30, -6) / 20);
    if (kind === 0 || kind === 1) {
      // Cough (sharp attack, fast decay) or breath (slow swell), noise low-passed by a running mean.
      let lp = 0;
      const smooth = kind === 0 ? 0.5 : 0.85;
      for (let t = 0; t < n; t++) {
        lp = smooth * lp + (1 - smooth) * (random() * 2 - 1);
        const env = kind === 0 ? Math.exp(-t / (0.08 * sampleRate)) : Math.sin(Math.PI * t / n);
        x[t] = amp * 3 * lp * env;
      }
    } else if (kind === 2) {
      // A train of clicks.
      const every = Math.round(uniform(random, 0.03, 0.2) * sampleRate);
      for (let t = 0; t < n; t += every) for (let k = 0; k < 20 && t + k < n; k++) x[t + k] = amp * Math.exp(-k / 4) * (k % 2 ? -1 : 1);
    } else {
      // A tone with vibrato (kind 3), or a chord of three notes with harmonics (kind 4), faded in and out.
      const base = uniform(random, 110, 880);
      const freqs = kind === 3 ? [base] : [base, base * 1.26, base * 1.5];
      const vibrato = uniform(random, 0, 8);
      for (let t = 0; t < n; t++) {
        const time = t / sampleRate;
        let v = 0;
        for (const f of freqs) {
          for (let h = 1; h <= 3; h++) v += Math.sin(2 * Math.PI * f * h * (time + 0.002 * Math.sin(2 * Math.PI * vibrato * time))) / h;
        }
        x[t] = amp * v / freqs.length * Math.min(1, t / 400, (n - t) / 400);
      }
    }
    out.push(x);
  }
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/**
 * Runs a neural-voice script (models/lab/voices_kokoro.py or voices_piper.py) on every word, `perWord` voices each,
 * into `<out>/<engine>`; returns the clips it reports for the words. Its stderr (what the phoneme rewrite dropped,
 * words that failed) is passed on.
 */
async function speakNeural(python: string, script: string, out: string, perWord: number): Promise<number> {
  const path = new URL(`./${script}`, import.meta.url).pathname;
  const words = JSON.stringify(wordLists().map((w) => w.word));
  const args = [path, out, "--words", words, "--per-word", String(perWord)];
  const result = await new Deno.Command(python, { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(result.stderr).trim();
  if (stderr) console.log(stderr);
  if (!result.success) throw new Error(`${script} failed`);
  return +new TextDecoder().decode(result.stdout).trim();
}

/** Every word by the neural voices, `perWord.kokoro` and `perWord.piper` each, where Python has them. */
async function speakWordsNeural(out: string, perWord: Record<string, number>) {
  const neural = [
    { engine: "kokoro", script: "voices_kokoro.py", python: kokoroPython },
    { engine: "piper", script: "voices_piper.py", python: piperPython },
  ];
  for (const { engine, script, python } of neural) {
    if (!perWord[engine]) continue;
    const interpreter = python();
    if (!interpreter) {
      console.log(`${engine}: its package + onnxruntime not importable (see .ci/run), skipped`);
      continue;
    }
    const clips = await speakNeural(interpreter, script, `${out}/${engine}`, perWord[engine]);
    console.log(`${clips} ${engine} word clips in ${out}/${engine}`);
  }
}

/** Writes every word with `perWord` voices of each engine (chosen at random per word). */
async function speakWords(out: string, perWord: Record<string, number>) {
  const engines: Record<string, Voice[]> = { espeak: espeakVoices(), flite: fliteVoices(), festival: festivalVoices() };
  const random = seededRandom(31);
  const jobs: { voice: Voice; word: string; path: string }[] = [];
  wordLists().forEach(({ word }, index) => {
    for (const [engine, voices] of Object.entries(engines)) {
      for (const voice of shuffle([...voices], random).slice(0, perWord[engine] ?? 0)) {
        jobs.push({ voice, word, path: `${out}/${engine}/${String(index).padStart(3, "0")}_${voice.id}.wav` });
      }
    }
  });
  for (const engine of Object.keys(engines)) await Deno.mkdir(`${out}/${engine}`, { recursive: true });
  let written = 0, failed = 0;
  const next = async (): Promise<void> => {
    const job = jobs.pop();
    if (!job) return;
    try {
      await Deno.stat(job.path);
      written++;
    } catch {
      const [cmd, ...args] = job.voice.command(job.word, job.path);
      const ok = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output().then((r) => r.success, () => false);
      ok ? written++ : failed++;
    }
    return next();
  };
  await Promise.all(Array.from({ length: 4 }, next));
  console.log(`${written} word clips in ${out} (${failed} failed: an engine not installed?)`);
  await speakWordsNeural(out, perWord);
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: {
      out: { type: "string", default: NONDIGITS_DIR },
      espeak: { type: "string", default: "5" },
      festival: { type: "string", default: "1" },
      flite: { type: "string", default: "2" },
      kokoro: { type: "string", default: "2" },
      piper: { type: "string", default: "1" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (args.help) {
    console.log(`deno task nondigits [--out ${NONDIGITS_DIR}] [--espeak 5] [--festival 1] [--flite 2] [--kokoro 2] [--piper 1]
  Speaks every word of models/lab/words/*.txt with that many random voices of espeak-ng, festival, flite and the
  neural Kokoro and Piper (Python, as deno task voices finds it; 0 skips one): the non-digit words the refusal head
  learns from (espeak-ng, festival, Kokoro) and is tested on (flite, Piper: words it never heard).
  Clips already there are kept.`);
    Deno.exit(0);
  }
  await speakWords(args.out, {
    espeak: +args.espeak,
    festival: +args.festival,
    flite: +args.flite,
    kokoro: +args.kokoro,
    piper: +args.piper,
  });
}

/**
 * `count` training clips of "not a digit" for a network's 11th class: training words (espeak-ng, festival, Kokoro;
 * never the held-out words or engine) for 60%, the given digit clips made into non-digits for 30%, non-speech
 * for 10%. `digits` must be the training speakers' own clips (a LOSO fold never sees its held-out speaker's).
 */
export async function nonDigitClips(
  digits: Float32Array[],
  sampleRate: number,
  speech: SpeechConfig,
  count: number,
  seed: number,
): Promise<LabelledAudio[]> {
  const random = seededRandom(seed * 4099 + 3);
  const words = shuffle(listWordClips().filter((w) => !w.test), random).slice(0, Math.round(0.6 * count));
  if (words.length === 0) throw new Error("no non-digit words: run deno task nondigits first");
  const made = Math.round(0.3 * count);
  const audio = [
    ...await loadAudio(words.map((w) => w.path), sampleRate),
    ...madeFromDigits(digits, sampleRate, speech, made, random),
    ...notSpeech(sampleRate, count - words.length - made, random),
  ];
  return audio.map((samples) => ({ samples, digit: NOT_A_DIGIT, speaker: "not a digit" }));
}
