"""Fake ComfyUI 0.3.64 on loopback: the genpod demo engine for tests, benchmarks and demo mode.

Run it: `python -m gpu_server.fake_comfyui --port 8188 [--models models.json] [--step-time 0.05]`.
In tests: `fake = FakeComfyUI(FakeConfig(...)); url = await fake.start(); ...; await fake.stop()`.
Faults: set `fake.faults.*` in process, or `POST /fake/faults` / `POST /fake/next_output` over HTTP.
Every picture it makes carries the words "genpod DEMO ENGINE".
"""

from gpu_server.fake_comfyui.app import FakeComfyUI, create_app
from gpu_server.fake_comfyui.config import FakeConfig, Faults, demo_models
from gpu_server.fake_comfyui.state import FakeState

__all__ = ["FakeComfyUI", "FakeConfig", "FakeState", "Faults", "create_app", "demo_models"]
