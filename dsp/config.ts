/**
 * The one feature configuration. Training writes it to `models/<name>/features.json`;
 * the server and the browser read it back from there, so a model folder says how it
 * must be fed. Every field names its unit and, where there is one, its librosa equivalent.
 */
export interface FeatureConfig {
  /** Sample rate the model expects, Hz (librosa `sr`). Inputs are resampled to it. */
  sampleRate: number;
  /** FFT size in samples (librosa `n_fft`); the Hann window has the same length (`win_length`). */
  nFft: number;
  /** Hop between frames in samples (librosa `hop_length`). */
  hopLength: number;
  /** Number of mel bands (librosa `n_mels`), Slaney mel scale and Slaney area norm (librosa defaults). */
  nMels: number;
  /** Lowest / highest mel filter edge, Hz (librosa `fmin`, `fmax`). */
  fMin: number;
  fMax: number;
  /** Floor of the dB conversion (librosa `power_to_db` `amin`) and its dynamic range (`top_db`). */
  amin: number;
  topDb: number;
  /** Number of cepstral coefficients (librosa `mfcc` `n_mfcc`, DCT type II, ortho norm). 0 = log-mel features. */
  nMfcc: number;
  /** Append first-order deltas (librosa `feature.delta`, `width` 5, mode "interp"... see dsp/features.ts). */
  deltas: boolean;
  /** Number of frames of the fixed time grid the speech is mapped onto. */
  frames: number;
  /**
   * Cosines kept per coefficient along the time grid: each coefficient's `frames` values become the lowest
   * `timeDct` terms of their orthonormal DCT-II (scipy.fft.dct(type=2, norm="ortho") along time, truncated),
   * a smooth summary of its trajectory, timeDct/frames of the grid's size. Absent or 0: the grid itself.
   */
  timeDct?: number;
  /**
   * "stretch": the speech segment is linearly resampled in time to `frames` frames (speaking-rate invariant);
   * "center": the speech is centred and zero-padded or cropped to `frames` frames;
   * "window": a fixed stretch of audio, `frames` hops long, centred on the speech (silence beyond the clip's
   * ends), so a slow and a fast speaker look like what they are, with the sound around the word (the CNN's input).
   */
  timeGrid: "stretch" | "center" | "window";
  /**
   * Per-utterance normalization of each coefficient over time: "mean" subtracts its mean (CMN: removes the
   * microphone's colour), "meanvar" also divides by its deviation (CMVN), "level" subtracts only the
   * loudness (c0's mean; with log-mel features, the mean of every band), so that how loud a clip was recorded
   * stops mattering and its spectral shape is left whole; "none" leaves it.
   */
  utteranceNorm: "none" | "mean" | "meanvar" | "level";
  /**
   * Vocal-tract warps of the mel filterbank under which a clip is seen at prediction; the model's probabilities
   * for the views are averaged (test-time frequency-warp normalization: a voice whose formants sit higher or
   * lower than the training speakers' meets one view closer to them). [1] = one plain view. Absent in
   * features.json written before it existed, which means [1].
   */
  testWarps?: number[];
  /** Speech finding (dsp/speech.ts). */
  speech: SpeechConfig;
  /**
   * Samples in the Hann window (librosa `win_length`), zero-padded to `nFft` on both sides. Absent: nFft.
   */
  winLength?: number;
  /** Frames centred on their hop (librosa `center=True`, zero padding). Absent: true. */
  center?: boolean;
  /**
   * A pretrained embedding network is the model's front end (models/<embedding.model>/): the features are then
   * the network's own log-mel input (dsp/speech_mel.ts) over `frames` frames, and the network turns them into
   * one vector every `stepFrames` frames. Absent: the features go straight to the classifier.
   */
  embedding?: EmbeddingInput;
}

/**
 * How a clip is fed to a pretrained speech embedding. The mel parameters are the FeatureConfig's own
 * (nFft, winLength, hopLength, center, nMels, fMin, fMax, amin, topDb), at `sampleRate` here.
 */
export interface EmbeddingInput {
  /** The network's folder under models/ (graph.json, weights.bin, LICENSE, NOTICE). */
  model: string;
  /** Rate the network's mel runs at, Hz: the clip (at FeatureConfig.sampleRate, band-limited) is upsampled to it. */
  sampleRate: number;
  /** Full scale of the samples the network was trained on: 32768 (16-bit integers as floats). */
  fullScale: number;
  /** RMS (full scale = 1) the speech segment is scaled to before the mel: how loud it was recorded stops mattering. */
  levelRms: number;
  /** RMS (full scale = 1) of a fixed, seeded noise added after scaling: digital silence looks like a quiet room. */
  ditherRms: number;
  /** The network's input is dB * dbScale + dbOffset (openWakeWord's x / 10 + 2). */
  dbScale: number;
  dbOffset: number;
  /** The network's window and step, frames: one vector per windowFrames, every stepFrames. */
  windowFrames: number;
  stepFrames: number;
}

export interface SpeechConfig {
  /** Analysis frame and hop of the energy detector, seconds. */
  frameS: number;
  hopS: number;
  /** A frame is speech when its level is within `rangeDb` of the loudest frame ... */
  rangeDb: number;
  /**
   * ... and at least `aboveFloorDb` above the noise floor (5th percentile of frame levels). 5 dB keeps the
   * quietest FSDD takes (speech only 6-8 dB above their background); steady pink noise, whose frame levels
   * spread as much, can then pass for speech: telling those apart needs a spectral cue, not energy alone.
   */
  aboveFloorDb: number;
  /** Quieter than this (dBFS, loudest frame) is silence. */
  minPeakDbfs: number;
  /** Active runs closer than this are one utterance (syllables of "seven", "zero"), seconds. */
  mergeGapS: number;
  /** Kept around the detected speech on both sides (hangover), seconds. */
  padS: number;
  /**
   * Speech shorter than this (seconds, before padding) is no word: 8 samples or a 1 ms click is refused as
   * "too short" instead of being forced onto a digit. Absent in features.json written before it existed: 0.12.
   */
  minSpeechS?: number;
  /**
   * High-pass (Hz) before the frame levels, as the utterance finder does (dsp/utterances.ts): bass noise swings
   * from frame to frame and passes for speech. Absent or 0: none (models trained before it existed).
   */
  highPassHz?: number;
}

/** Normalization statistics computed on the training set, one per feature value. */
export interface FeatureStats {
  mean: number[];
  std: number[];
}

export const DEFAULT_SPEECH: SpeechConfig = {
  frameS: 0.025,
  hopS: 0.01,
  rangeDb: 40,
  aboveFloorDb: 5,
  minPeakDbfs: -55,
  mergeGapS: 0.3,
  padS: 0.05,
  minSpeechS: 0.12,
  // Chosen on training takes 5-9 padded and noised (models/lab/speech_finder.ts): spans longer than the word
  // 41% -> 0.3%, the same at 200 Hz; 100 cuts less of the word.
  highPassHz: 100,
};

export const DEFAULT_FEATURES: FeatureConfig = {
  sampleRate: 8000,
  nFft: 256,
  hopLength: 80,
  nMels: 40,
  fMin: 20,
  fMax: 4000,
  amin: 1e-10,
  topDb: 80,
  nMfcc: 20,
  deltas: true,
  frames: 32,
  timeDct: 0,
  timeGrid: "stretch",
  utteranceNorm: "none",
  testWarps: [0.88, 0.94, 1, 1.06, 1.12],
  speech: DEFAULT_SPEECH,
};

/**
 * The DS-CNN's input (models/lab/dscnn.ts): 40 log-mel bands over a 1 s window around the speech, 50 frames of
 * 32 ms every 20 ms (Hello Edge's hop; 10 ms doubled the training cost for nothing the convolutions need), no
 * deltas (the convolutions see time directly).
 */
export const CNN_FEATURES: FeatureConfig = {
  ...DEFAULT_FEATURES,
  hopLength: 160,
  nMfcc: 0,
  deltas: false,
  frames: 50,
  timeGrid: "window",
  // One view: five cost five forward passes of a CNN (the p50 budget is 2 ms); warps remain a training augmentation.
  testWarps: [1],
};

/**
 * The speech embedding's input (models/speech_embedding/, Google's speech_embedding): 32 Slaney mel bands,
 * 60-3800 Hz, of 16 kHz audio in 25 ms Hann windows inside 32 ms frames every 10 ms, not centred, dB floored
 * 80 dB below the crop's loudest value, then x / 10 + 2: what melspectrogram.onnx computes (tested to 1e-4).
 * Clips pass through 8 kHz first (every input band-limited like FSDD's recordings; the mel stops at 3.8 kHz).
 * `frames` is chosen on leave-one-speaker-out with its cost (models/README.md).
 */
export const EMBEDDING_FEATURES: FeatureConfig = {
  ...DEFAULT_FEATURES,
  sampleRate: 8000,
  nFft: 512,
  winLength: 400,
  hopLength: 160,
  center: false,
  nMels: 32,
  fMin: 60,
  fMax: 3800,
  amin: 1e-10,
  topDb: 80,
  nMfcc: 0,
  deltas: false,
  frames: 76 + 8 * 10,
  timeDct: 0,
  timeGrid: "window",
  utteranceNorm: "none",
  testWarps: [1],
  embedding: {
    model: "speech_embedding",
    sampleRate: 16000,
    fullScale: 32768,
    levelRms: 0.05,
    ditherRms: 1e-4,
    dbScale: 0.1,
    dbOffset: 2,
    windowFrames: 76,
    stepFrames: 8,
  },
};

/** Vectors an embedding gives for `frames` mel frames (0 when fewer than one window). */
export function embeddingVectors(input: EmbeddingInput, frames: number): number {
  return frames < input.windowFrames ? 0 : 1 + Math.floor((frames - input.windowFrames) / input.stepFrames);
}

/** Seconds between the spectrogram's frames (what the page's time axis needs). */
export function hopSeconds(config: FeatureConfig): number {
  return config.hopLength / (config.embedding?.sampleRate ?? config.sampleRate);
}

/** Length of the flat feature vector the model takes (for an embedding model: its mel input, frames x bands). */
export function featureLength(config: FeatureConfig): number {
  if (config.embedding) return config.nMels * config.frames;
  return valuesPerFrame(config) * (config.timeDct || config.frames);
}

/** Values per frame of the time grid: cepstral (or mel) coefficients, and their deltas. */
function valuesPerFrame(config: FeatureConfig): number {
  return (config.nMfcc > 0 ? config.nMfcc : config.nMels) * (config.deltas ? 2 : 1);
}
