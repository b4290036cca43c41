"""Fake ComfyUI 0.3.64 on loopback: the genpod demo engine for tests, benchmarks and demo mode.

Run it: `python -m gpu_server.fake_comfyui --port 8188 [--models models.json] [--step-time 0.05]`
(`--help` lists the rest). In tests: `fake = FakeComfyUI(FakeConfig(...)); url = await
fake.start(); ...; await fake.stop()`. Faults: set `fake.faults.*` in process, or use
`POST /fake/faults`, `POST /fake/next_output`, `GET /fake/prompts` over HTTP.

It validates prompts with `gpu_server.comfy_schema` against the captured node schema and its
own installed-model lists, runs one prompt at a time, and sends the websocket frames, history
and files a real ComfyUI 0.3.64 sends. Every picture it makes says "genpod DEMO ENGINE".

Timing: `job_time` (`--job-time`) is the wall-clock time an executed prompt occupies the
execution slot, from leaving the queue to its outputs, with the fake's own rendering and PNG
encoding included: only the remainder is slept, as a GPU job of fixed length would take, so
N seconds per prompt means at most 1/N prompts a second. `step_time` (`--step-time`) sleeps
per sampler step on top of that. A fully cached prompt takes neither.
"""

from gpu_server.fake_comfyui.app import FakeComfyUI, create_app
from gpu_server.fake_comfyui.config import FakeConfig, Faults, demo_models
from gpu_server.fake_comfyui.state import FakeState

__all__ = ["FakeComfyUI", "FakeConfig", "FakeState", "Faults", "create_app", "demo_models"]
