"""What the neural-voice scripts (voices_kokoro.py, voices_piper.py) share: how a clip is written and how a word
list is read."""
import json
import wave

import numpy as np


def write_wav(path, audio, sample_rate):
    """float samples in [-1, 1] -> mono 16-bit PCM WAV (what dsp/wav.ts reads without a decoder)."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def read_words(source):
    """A JSON array (inline, or a .json file), or a text file of one word a line: the list, in index order."""
    if source.lstrip().startswith("["):
        return json.loads(source)
    text = open(source, encoding="utf-8").read()
    return json.loads(text) if source.endswith(".json") else [w.strip() for w in text.splitlines() if w.strip()]
