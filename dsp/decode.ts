/**
 * Bytes in any supported container -> mono float samples at the file's own rate.
 * WAV goes through our own reader (dsp/wav.ts); compressed formats through the WASM decoders of
 * `audio-decode`, fed in chunks so that a small file which expands to hours is stopped as soon as
 * it passes `maxDurationS`, before it can exhaust memory.
 *
 * What a header declares (FLAC's STREAMINFO, Vorbis's identification header, AIFF's COMM chunk: rate,
 * channels, length) is checked before any decoder runs: a 32 KB FLAC declaring 59 s of 8 channels at
 * 384 kHz cost 1.79 GB before it was stopped. Between chunks the decoder checks its deadline and gives
 * the event loop a turn, so a worker running it can be terminated (a Deno worker busy in one long task
 * cannot: terminate() waits for the task to end).
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
  /**
   * At most this many decoded values, all channels counted (channels x frames): more is refused "too_long".
   * Default: maxDurationS x 192,000 (60 s of mono at 192 kHz, of stereo at 96 kHz, of 8 channels at 24 kHz).
   */
  maxValues?: number;
  /** A `performance.now()` time: a compressed decode still running then is stopped ("undecodable"). */
  deadline?: number;
}

/** Decoded values allowed per second of the duration limit (see DecodeOptions.maxValues). */
export const VALUES_PER_SECOND = 192000;

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

/** Small enough that a chunk of a low-bitrate file cannot hold much more than the limits (Opus at 6 kb/s: ~20 s). */
const CHUNK_BYTES = 16 * 1024;
/** The event loop gets a turn at least this often during a compressed decode, ms. */
const YIELD_EVERY_MS = 20;
/** Below this no container holds a useful sound (a WAV header alone is 44 bytes). */
const MIN_BYTES = 16;

export async function decodeAudio(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const maxDurationS = options.maxDurationS ?? Infinity;
  const limits: Limits = {
    maxDurationS,
    maxValues: options.maxValues ?? maxDurationS * VALUES_PER_SECOND,
    deadline: options.deadline ?? Infinity,
  };
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
  checkDeclared(bytes, format, limits);
  return await decodeCompressed(bytes, detected, format, limits);
}

interface Limits {
  maxDurationS: number;
  maxValues: number;
  deadline: number;
}

/** What the file says it holds, as the decoder will see it: refused before decoding when over the limits. */
interface Declared {
  sampleRate: number;
  channels: number;
  /** Frames (samples per channel); 0 when the header does not say. */
  frames: number;
}

function checkDeclared(bytes: Uint8Array, format: string, limits: Limits): void {
  const declared = format === "flac"
    ? flacStreamInfo(bytes)
    : format === "ogg"
    ? vorbisHeader(bytes)
    : format === "aiff"
    ? aiffCommon(bytes)
    : null;
  if (!declared) return;
  checkSampleRate(declared.sampleRate);
  if (declared.channels === 0) throw new AudioError("no_channels", `the ${format} header declares zero channels`);
  checkSize(declared.frames, declared.sampleRate, declared.channels, limits, "declares");
}

function checkSize(frames: number, sampleRate: number, channels: number, limits: Limits, verb: string): void {
  if (frames > limits.maxDurationS * sampleRate) {
    throw new AudioError("too_long", `the audio ${verb} ${(frames / sampleRate).toFixed(1)} s, over the limit of ${limits.maxDurationS} s`);
  }
  if (frames * channels > limits.maxValues) {
    throw new AudioError(
      "too_long",
      `the audio ${verb} ${channels} channels x ${
        (frames / sampleRate).toFixed(1)
      } s at ${sampleRate} Hz, over the limit of ${limits.maxValues} decoded samples`,
    );
  }
}

/** FLAC: "fLaC", then the STREAMINFO block (rate: 20 bits, channels - 1: 3, bits - 1: 5, total samples: 36). */
function flacStreamInfo(bytes: Uint8Array): Declared | null {
  if (bytes.length < 8 + 34 || bytes[0] !== 0x66 || bytes[1] !== 0x4c || bytes[2] !== 0x61 || bytes[3] !== 0x43) return null;
  if ((bytes[4] & 0x7f) !== 0) return null; // the first block must be STREAMINFO; a decoder refuses the file otherwise
  const at = 8 + 10;
  const sampleRate = (bytes[at] << 12) | (bytes[at + 1] << 4) | (bytes[at + 2] >> 4);
  const channels = ((bytes[at + 2] >> 1) & 7) + 1;
  const frames = (bytes[at + 3] & 0x0f) * 2 ** 32 + ((bytes[at + 4] << 24) >>> 0) + (bytes[at + 5] << 16) + (bytes[at + 6] << 8) +
    bytes[at + 7];
  return { sampleRate, channels, frames };
}

/** Ogg Vorbis: the identification header ("\x01vorbis", version: 4 bytes, channels: 1, rate: 4, little-endian) in the first page. */
function vorbisHeader(bytes: Uint8Array): Declared | null {
  const limit = Math.min(bytes.length - 16, 512);
  for (let i = 0; i < limit; i++) {
    if (bytes[i] === 1 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x6f && bytes[i + 3] === 0x72 && bytes[i + 4] === 0x62) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + i);
      return { channels: view.getUint8(11), sampleRate: view.getUint32(12, true), frames: 0 };
    }
  }
  return null;
}

/** AIFF: the COMM chunk (channels: 2 bytes, frames: 4, bits: 2, rate: 80-bit extended float, big-endian). */
function aiffCommon(bytes: Uint8Array): Declared | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
    const size = view.getUint32(at + 4);
    if (id === "COMM") {
      if (at + 8 + 18 > bytes.length) return null;
      const exponent = view.getUint16(at + 16) & 0x7fff;
      const mantissa = view.getUint32(at + 18) * 2 ** 32 + view.getUint32(at + 22);
      const sampleRate = mantissa * 2 ** (exponent - 16383 - 63);
      return { channels: view.getUint16(at + 8), frames: view.getUint32(at + 10), sampleRate };
    }
    at += 8 + size + (size & 1);
  }
  return null;
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

async function decodeCompressed(bytes: Uint8Array, type: string, format: string, limits: Limits): Promise<DecodedAudio> {
  const open = (decode as unknown as Record<string, () => Promise<StreamDecoder>>)[type];
  let decoder: StreamDecoder;
  try {
    decoder = await open();
  } catch (e) {
    throw new AudioError("unsupported_format", `no decoder for ${format} could be loaded: ${(e as Error).message}`);
  }
  const parts: Float32Array[][] = [];
  let sampleRate = 0;
  let channels = 0;
  let total = 0;
  const collect = (out: { channelData: Float32Array[]; sampleRate: number }) => {
    if (!out.channelData.length || !out.channelData[0].length) return;
    if (!sampleRate) {
      // The rate and channels the decoder found (a header may lie): checked on its first output.
      sampleRate = out.sampleRate;
      channels = out.channelData.length;
      checkSampleRate(sampleRate);
    }
    parts.push(out.channelData);
    total += out.channelData[0].length;
    checkSize(total, sampleRate, Math.max(channels, out.channelData.length), limits, "lasts more than");
  };
  let turn = performance.now();
  try {
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      collect(await decoder(bytes.subarray(at, at + CHUNK_BYTES)));
      const now = performance.now();
      if (now > limits.deadline) {
        throw new AudioError(
          "undecodable",
          `decoding the ${format} data took longer than its time budget; the file is damaged or built to stall a decoder`,
        );
      }
      if (now - turn > YIELD_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turn = performance.now();
      }
    }
    collect(await decoder());
  } catch (e) {
    try {
      decoder.free();
    } catch { /* already freed by the decoder itself */ }
    if (e instanceof AudioError) throw e;
    throw new AudioError("undecodable", `the ${format} data could not be decoded: ${(e as Error)?.message ?? e}`);
  }
  if (total === 0) throw new AudioError("truncated", `the ${format} file decoded to no samples (truncated or empty)`);
  if (channels === 0) throw new AudioError("no_channels", "the audio has no channels");
  return { samples: downmix(parts, total), sampleRate, format, channels: parts[0].length, durationS: total / sampleRate };
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
