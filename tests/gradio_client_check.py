"""The real gradio_client (PyPI, pinned in .ci/run) against a live server: tests/server_gradio_test.ts runs this
and checks the JSON report it prints on its last line.

usage: gradio_client_check.py URL CLIPS.json JOINED.wav SILENT.wav TAKES.json
  CLIPS.json   paths of clips to predict one by one (the first 16 also all at once)
  JOINED.wav   a digit string for /transcribe
  SILENT.wav   a clip with no speech: the error case
  TAKES.json   {"digit": [paths]} to teach it a voice with /adapt
"""

import json
import sys
import time

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

url, clips_json, joined, silent, takes_json = sys.argv[1:6]
with open(clips_json) as f:
    clips = json.load(f)
with open(takes_json) as f:
    takes = json.load(f)

client = Client(url, verbose=False)
report = {}

info = client.view_api(print_info=False, return_format="dict")
report["endpoints"] = {
    name: {"parameters": [p["parameter_name"] for p in e["parameters"]], "returns": [r["label"] for r in e["returns"]]}
    for name, e in info["named_endpoints"].items()
}
report["view_api"] = client.view_api(print_info=False, return_format="str")

report["predict"] = []
for path in clips:
    started = time.perf_counter()
    label, answer = client.predict(handle_file(path), api_name="/predict")
    report["predict"].append(
        {"path": path, "label": label, "probabilities": answer["probabilities"], "s": time.perf_counter() - started}
    )

text, answer = client.predict(handle_file(joined), api_name="/transcribe")
report["transcribe"] = {"text": text, "digits": answer["digits"]}


def error_of(*args, **kwargs):
    try:
        client.predict(*args, **kwargs)
    except AppError as e:
        return {"title": e.title, "message": e.message}
    return None


report["errors"] = {
    "silence": error_of(handle_file(silent), api_name="/predict"),
    "reject": error_of(handle_file(clips[0]), reject="2", api_name="/predict"),
    "model": error_of(handle_file(clips[0]), model="no-such-model", api_name="/transcribe"),
}

started = time.perf_counter()
jobs = [client.submit(handle_file(path), api_name="/predict") for path in clips[:16]]
report["concurrent"] = {"labels": [job.result(timeout=120)[0] for job in jobs], "s": time.perf_counter() - started}

kwargs = {f"digit_{d}": [handle_file(p) for p in paths] for d, paths in takes.items()}
profile, adapted = client.predict(**kwargs, api_name="/adapt")
label, answer = client.predict(handle_file(clips[0]), profile=profile, api_name="/predict")
report["adapt"] = {"takes": adapted["takes"], "with_profile": answer.get("profile", False), "label": label}

client.close()
print(json.dumps(report))
