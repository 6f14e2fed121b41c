/** The decoding pool: jobs over their time or memory budget are stopped, and the pool goes on serving. */
import assert from "node:assert/strict";
import { AudioError } from "../dsp/errors.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import { createDecoder, type DecoderOptions } from "../routes/decoding.ts";
import { ffmpegEncode, tone, toolOrSkip } from "./helpers.ts";

const HAVE_FFMPEG = toolOrSkip("ffmpeg");
const BASE: DecoderOptions = {
  maxDurationS: 60,
  targetRate: 8000,
  workers: 1,
  timeoutMs: 5000,
  memoryBudgetBytes: 256 * 2 ** 20,
  inlineWavBytes: 1024 * 1024,
};

/** 50 s of a 440 Hz tone at 48 kHz as MP3: a legitimate file that takes ~0.1 s to decode. */
async function longMp3(): Promise<Uint8Array> {
  const path = await Deno.makeTempFile({ suffix: ".wav" });
  await Deno.writeFile(path, encodeWav16(tone(440, 50, 48000, 0.3), 48000));
  try {
    return await ffmpegEncode(path, "mp3", ["-b:a", "64k"]);
  } finally {
    await Deno.remove(path);
  }
}

const stopped = (pattern: RegExp) => (e: unknown) => e instanceof AudioError && e.code === "undecodable" && pattern.test(e.message);

Deno.test({
  name: "decoder pool: an MP3 decodes in a worker to the model's rate; the file's own rate is kept",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const decoder = createDecoder(BASE);
    try {
      await decoder.ready;
      const audio = await decoder.decode(await longMp3());
      assert.equal(audio.sampleRate, 8000);
      assert.equal(audio.sourceRate, 48000);
      assert.equal(audio.format, "mp3");
      assert.ok(Math.abs(audio.samples.length / 8000 - 50) < 0.1, `${audio.samples.length / 8000} s`);
    } finally {
      decoder.close();
    }
  },
});

Deno.test({
  name: "decoder pool: a decode over its time budget is stopped with 400 and its worker replaced",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const mp3 = await longMp3();
    const decoder = createDecoder({ ...BASE, timeoutMs: 1 });
    try {
      await decoder.ready;
      await assert.rejects(decoder.decode(mp3), stopped(/took longer than/));
      // The replacement worker serves the next job (a small WAV goes inline; force a worker job with an MP3 too).
      await assert.rejects(decoder.decode(mp3), stopped(/took longer than/));
    } finally {
      decoder.close();
    }
    const relaxed = createDecoder(BASE);
    try {
      assert.equal((await relaxed.decode(mp3)).format, "mp3");
    } finally {
      relaxed.close();
    }
  },
});

Deno.test({
  name: "decoder pool: a decode that grows memory past its budget is stopped with 400",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const mp3 = await longMp3();
    // 1 MB: decoding 50 s at 48 kHz allocates far more (9.6 MB of float samples alone).
    const decoder = createDecoder({ ...BASE, memoryBudgetBytes: 2 ** 20 });
    try {
      await decoder.ready;
      await assert.rejects(decoder.decode(mp3), stopped(/more than 1 MB/));
    } finally {
      decoder.close();
    }
  },
});
