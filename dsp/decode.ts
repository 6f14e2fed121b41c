/**
 * Bytes in any supported container -> mono float samples at the file's own rate.
 * WAV goes through our own reader (dsp/wav.ts); compressed formats through the WASM decoders of
 * `audio-decode`, fed in chunks so that a small file which expands to hours is stopped as soon as
 * it passes `maxDurationS`, before it can exhaust memory.
 */
import decode from "audio-decode";
import audioType from "audio-type";
import { AudioError, checkSampleRate } from "./errors.ts";
import { checkMp4Tables } from "./mp4.ts";
import { isWav, readWav } from "./wav.ts";

export interface DecodedAudio {
  /** Mono samples in [-1, 1] (channels averaged). */
  samples: Float32Array;
  /** Hz, as stored in the file. */
  sampleRate: number;
  /** Container/codec name, e.g. "wav", "mp3", "opus". */
  format: string;
  channels: number;
  durationS: number;
}

export interface DecodeOptions {
  /** Longer audio is refused with code "too_long". */
  maxDurationS?: number;
}

/** Formats we accept, as `audio-type` names them, with the name we report. */
const COMPRESSED: Record<string, string> = {
  mp3: "mp3",
  oga: "ogg",
  opus: "opus",
  webm: "webm",
  mkv: "webm",
  flac: "flac",
  m4a: "m4a",
  mp4: "m4a",
  aac: "aac",
  aiff: "aiff",
};

export const SUPPORTED_FORMATS = ["wav", "mp3", "ogg (vorbis)", "opus (ogg or webm)", "webm", "flac", "m4a/aac", "aiff"];

const CHUNK_BYTES = 64 * 1024;
/** Below this no container holds a useful sound (a WAV header alone is 44 bytes). */
const MIN_BYTES = 16;

export async function decodeAudio(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const maxDurationS = options.maxDurationS ?? Infinity;
  if (bytes.length === 0) throw new AudioError("empty", "the audio is empty (0 bytes)");
  if (bytes.length < MIN_BYTES) throw new AudioError("truncated", `${bytes.length} bytes are too few to hold audio`);
  if (isWav(bytes)) {
    const wav = readWav(bytes, maxDurationS);
    return { ...wav, format: "wav", durationS: wav.samples.length / wav.sampleRate };
  }
  const detected = detectType(bytes);
  if (!detected) {
    throw new AudioError("undecodable", `the bytes are not audio in a format we read (${SUPPORTED_FORMATS.join(", ")})`);
  }
  const format = COMPRESSED[detected];
  if (!format) {
    throw new AudioError("unsupported_format", `${detected} is not supported; supported: ${SUPPORTED_FORMATS.join(", ")}`);
  }
  // Decoders allocate from an MP4's table counts before decoding anything: check them against the file first.
  if (format === "m4a") checkMp4Tables(bytes);
  return await decodeCompressed(bytes, detected, format, maxDurationS);
}

function detectType(bytes: Uint8Array): string | undefined {
  try {
    return audioType(bytes) ?? undefined;
  } catch {
    return undefined;
  }
}

type StreamDecoder = {
  (chunk?: Uint8Array): Promise<{ channelData: Float32Array[]; sampleRate: number }>;
  free(): void;
};

async function decodeCompressed(bytes: Uint8Array, type: string, format: string, maxDurationS: number): Promise<DecodedAudio> {
  const open = (decode as unknown as Record<string, () => Promise<StreamDecoder>>)[type];
  let decoder: StreamDecoder;
  try {
    decoder = await open();
  } catch (e) {
    throw new AudioError("unsupported_format", `no decoder for ${format} could be loaded: ${(e as Error).message}`);
  }
  const parts: Float32Array[][] = [];
  let sampleRate = 0;
  let total = 0;
  const collect = (out: { channelData: Float32Array[]; sampleRate: number }) => {
    if (!out.channelData.length || !out.channelData[0].length) return;
    sampleRate ||= out.sampleRate;
    parts.push(out.channelData);
    total += out.channelData[0].length;
    if (total > maxDurationS * sampleRate) {
      throw new AudioError("too_long", `the audio is longer than the limit of ${maxDurationS} s`);
    }
  };
  try {
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) collect(await decoder(bytes.subarray(at, at + CHUNK_BYTES)));
    collect(await decoder());
  } catch (e) {
    try {
      decoder.free();
    } catch { /* already freed by the decoder itself */ }
    if (e instanceof AudioError) throw e;
    throw new AudioError("undecodable", `the ${format} data could not be decoded: ${(e as Error)?.message ?? e}`);
  }
  if (total === 0) throw new AudioError("truncated", `the ${format} file decoded to no samples (truncated or empty)`);
  checkSampleRate(sampleRate);
  const channels = parts[0].length;
  if (channels === 0) throw new AudioError("no_channels", "the audio has no channels");
  return { samples: downmix(parts, total), sampleRate, format, channels, durationS: total / sampleRate };
}

function downmix(parts: Float32Array[][], total: number): Float32Array {
  const out = new Float32Array(total);
  let offset = 0;
  for (const channelData of parts) {
    const n = channelData[0].length;
    const scale = 1 / channelData.length;
    for (const channel of channelData) {
      for (let i = 0; i < n; i++) out[offset + i] += channel[i] * scale;
    }
    offset += n;
  }
  return out;
}

/** Compiles each codec's WASM once, so the first real request does not pay for it (~0.1-0.4 s each). */
export async function warmDecoders(): Promise<void> {
  const table = decode as unknown as Record<string, () => Promise<StreamDecoder>>;
  await Promise.all(
    Object.keys(COMPRESSED).map(async (type) => {
      try {
        const d = await table[type]();
        d.free();
      } catch { /* a codec that cannot load is reported on first use */ }
    }),
  );
}
