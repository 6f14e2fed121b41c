/** Compressed formats, made at test time from FSDD clips with ffmpeg (never committed). */
import assert from "node:assert/strict";
import { decodeAudio } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
import { clipPath, ffmpegEncode, forgedM4a, FORGERIES, FSDD, toolOrSkip } from "./helpers.ts";

const HAVE_FFMPEG = toolOrSkip("ffmpeg");
const ready = !!FSDD && HAVE_FFMPEG;

const FORMATS: Array<[string, string, string[]]> = [
  ["mp3", "mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]],
  ["ogg", "ogg", ["-c:a", "libvorbis"]],
  ["opus", "opus", ["-c:a", "libopus", "-ar", "48000"]],
  ["webm", "webm", ["-c:a", "libopus", "-ar", "48000"]],
  ["flac", "flac", []],
  ["m4a", "m4a", ["-c:a", "aac", "-ar", "16000"]],
];

for (const [format, ext, args] of FORMATS) {
  Deno.test({
    name: `decodeAudio: ${format} made by ffmpeg from an FSDD clip decodes to the clip's length`,
    ignore: !ready,
    fn: async () => {
      const source = clipPath("7_jackson_32.wav");
      const wav = await decodeAudio(await Deno.readFile(source));
      const decoded = await decodeAudio(await ffmpegEncode(source, ext, args));
      assert.equal(decoded.format, format);
      assert.equal(decoded.channels, 1);
      // Codecs add priming/padding samples; the length stays within 80 ms.
      assert.ok(Math.abs(decoded.durationS - wav.durationS) < 0.08, `${format}: ${decoded.durationS} s vs ${wav.durationS} s`);
      const peak = decoded.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(peak > 0.05, `${format}: peak ${peak}`);
    },
  });
}

Deno.test({
  name: "decodeAudio: a small compressed file that decodes past the duration limit is refused as too_long",
  ignore: !ready,
  fn: async () => {
    // 100 s of silence compresses to a few KB of Opus; the limit stops decoding early.
    const out = await Deno.makeTempFile({ suffix: ".opus" });
    await new Deno.Command("ffmpeg", {
      args: ["-y", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "100", "-c:a", "libopus", out],
    }).output();
    const bytes = await Deno.readFile(out);
    await Deno.remove(out);
    assert.ok(bytes.length < 200_000);
    await assert.rejects(decodeAudio(bytes, { maxDurationS: 60 }), (e: unknown) => e instanceof AudioError && e.code === "too_long");
  },
});

Deno.test({
  name: "decodeAudio: a truncated mp3 decodes what is there or fails with a typed error",
  ignore: !ready,
  fn: async () => {
    const mp3 = await ffmpegEncode(clipPath("7_jackson_32.wav"), "mp3", ["-b:a", "64k"]);
    for (const cut of [20, 200, Math.floor(mp3.length / 2)]) {
      try {
        const decoded = await decodeAudio(mp3.slice(0, cut));
        assert.ok(decoded.samples.length > 0);
      } catch (e) {
        assert.ok(e instanceof AudioError, `cut at ${cut}: ${e}`);
      }
    }
  },
});

Deno.test({
  name: "decodeAudio: an M4A whose stco/stsz counts claim more entries than its boxes hold is refused before decoding",
  ignore: !ready,
  fn: async () => {
    for (const [table, count] of FORGERIES) {
      // Before the check, the decoder allocated from these counts: 9-14 s and 1.2-1.5 GB for a 5 KB file.
      await assert.rejects(
        decodeAudio(await forgedM4a(table, count)),
        (e: unknown) => e instanceof AudioError && e.code === "undecodable" && /forged/.test(e.message),
        `${table} = 0x${count.toString(16)}`,
      );
    }
  },
});

Deno.test({
  name: "decodeAudio: mu-law and A-law WAV (telephone recordings) made by ffmpeg decode to ffmpeg's own samples",
  ignore: !ready,
  fn: async () => {
    for (const codec of ["pcm_mulaw", "pcm_alaw"]) {
      const encoded = await ffmpegEncode(clipPath("7_jackson_32.wav"), "wav", ["-c:a", codec]);
      const ours = await decodeAudio(encoded);
      const path = await Deno.makeTempFile({ suffix: ".wav" });
      await Deno.writeFile(path, encoded);
      const theirs = await decodeAudio(await ffmpegEncode(path, "wav", ["-c:a", "pcm_s16le"]));
      await Deno.remove(path);
      assert.equal(ours.samples.length, theirs.samples.length, codec);
      ours.samples.forEach((v, i) => assert.equal(Math.round(v * 32768), Math.round(theirs.samples[i] * 32768), `${codec} sample ${i}`));
    }
  },
});

Deno.test({
  name: "decodeAudio: FLAC, Vorbis and AIFF headers are checked before decoding (rate over 192 kHz, channels x length over the budget)",
  ignore: !ready,
  fn: async () => {
    const source = clipPath("7_jackson_32.wav");
    const refused = (code: string, pattern: RegExp) => (e: unknown) =>
      e instanceof AudioError && e.code === code && pattern.test(e.message);
    // Vorbis: the identification header's rate (little-endian, 12 bytes after "\x01vorbis") forged to 384 kHz.
    const ogg = await ffmpegEncode(source, "ogg", ["-c:a", "libvorbis"]);
    const at = ogg.findIndex((_, i) => ogg[i] === 1 && String.fromCharCode(...ogg.subarray(i + 1, i + 7)) === "vorbis");
    new DataView(ogg.buffer, ogg.byteOffset).setUint32(at + 12, 384000, true);
    await assert.rejects(decodeAudio(ogg), refused("bad_sample_rate", /384000 Hz/));
    // AIFF at 384 kHz, as ffmpeg writes it.
    const aiff = await ffmpegEncode(source, "aiff", ["-ar", "384000"]);
    await assert.rejects(decodeAudio(aiff), refused("bad_sample_rate", /384000 Hz/));
    // FLAC: 2 s of 8 channels at 48 kHz is 768,000 values: over a budget of 500,000, refused from STREAMINFO alone.
    const flac = await ffmpegEncode(source, "flac", ["-ac", "8", "-ar", "48000", "-af", "apad=whole_dur=2"]);
    await assert.rejects(decodeAudio(flac, { maxDurationS: 60, maxValues: 500_000 }), refused("too_long", /declares 8 channels/));
    assert.equal((await decodeAudio(flac, { maxDurationS: 60 })).channels, 8);
  },
});
