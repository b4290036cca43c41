"""Schemathesis against the backend's OpenAPI schema: no input makes it answer 5xx."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.app import create_app
from tests.backend.conftest import API_KEY, WORKER_TOKEN, make_settings
from tests.support.procs import free_port


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The live schema of a backend served from a thread (short sync wait, photo modes on)."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(data_dir, request_timeout=0.2))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(300):
        if server.started:
            break
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    # Long polls would only measure wait_s; the lease is covered by the lifecycle tests.
    yield schemathesis.openapi.from_url(f"{url}/openapi.json").exclude(path="/worker/lease")
    server.should_exit = True
    thread.join(15)


AUTH_HEADERS = frozenset({"x-api-key", "authorization"})
SEEN: Counter[tuple[str, str, int]] = Counter()


def _check(case: schemathesis.Case) -> None:
    headers = {"X-API-Key": API_KEY, "Authorization": f"Bearer {WORKER_TOKEN}"}
    # generated auth headers would only hide the deeper layers behind 401s
    generated = {k: v for k, v in (case.headers or {}).items() if k.lower() not in AUTH_HEADERS}
    response = case.call(headers={**generated, **headers}, timeout=10)
    SEEN[(case.method, case.path, response.status_code)] += 1
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        assert "error_code" in response.json()


def _mostly_valid(pair: tuple[schemathesis.Case, bool]) -> schemathesis.Case:
    """Half the bodies become a plausible free request (keeping fuzzed numbers), to go deeper."""
    case, fix = pair
    if fix and isinstance(case.body, dict):
        case.body.update(mode="free", style="anime", prompt="a small house by a lake")
        for name in ("target_image", "face_images"):
            case.body.pop(name, None)
        extra = case.body.get("extra_params")
        if isinstance(extra, dict):
            for name in (
                "width",
                "height",
                "sampler",
                "scheduler",
                "loras",
                "controlnet",
                "denoise",
            ):
                extra.pop(name, None)
            extra["negative_prompt"] = ""
    return case


def test_no_input_causes_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    """Whatever the schema allows (or nearly allows), no operation answers a 5xx."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        strategy = operation.as_strategy()
        if operation.path in ("/generate", "/tasks"):
            strategy = st.tuples(strategy, st.booleans()).map(_mostly_valid)
        fuzz = given(case=strategy)(_check)
        settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))(fuzz)()
    # the fuzzing reached past validation too, not only 4xx answers
    accepted = sum(n for (_, path, status), n in SEEN.items() if path == "/tasks" and status == 202)
    assert accepted > 0, SEEN
    assert sum(SEEN.values()) >= 100
