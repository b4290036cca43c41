"""Auth, rate limits, the prompt policy with strikes, and the meta endpoints."""

from __future__ import annotations

import httpx

from backend.routers.meta import utc_midnight
from tests.backend.conftest import (
    API_KEY,
    WORKER_TOKEN,
    RunningBackend,
    Worker,
    free_body,
    make_settings,
    serve,
)

REFUSED_NO_STRIKE = "nude woman on a beach"  # sfw nudity: refused, no strike
REFUSED_WITH_STRIKE = "nude teen"  # youth + sexual: refused in every policy, with a strike


async def test_api_key_is_required(backend: RunningBackend) -> None:
    """Missing or wrong X-API-Key answers 401 unauthorized; health stays open."""
    async with httpx.AsyncClient(base_url=backend.url) as anon:
        missing = await anon.post("/tasks", json=free_body())
        wrong = await anon.get("/tasks/x", headers={"X-API-Key": "nope"})
        health = await anon.get("/health")
    assert (missing.status_code, missing.json()["error_code"]) == (401, "unauthorized")
    assert (wrong.status_code, wrong.json()["error_code"]) == (401, "unauthorized")
    assert health.status_code == 200


async def test_worker_endpoints_need_the_worker_token(backend: RunningBackend) -> None:
    """An API key does not open worker endpoints; the bearer worker token does."""
    body = {"worker_id": "w", "capabilities": {}, "wait_s": 0}
    async with httpx.AsyncClient(base_url=backend.url) as c:
        with_key = await c.post("/worker/lease", json=body, headers={"X-API-Key": API_KEY})
        as_bearer_key = await c.post(
            "/worker/lease", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
        )
        with_token = await c.post(
            "/worker/lease", json=body, headers={"Authorization": f"Bearer {WORKER_TOKEN}"}
        )
    assert (with_key.status_code, with_key.json()["error_code"]) == (401, "unauthorized")
    assert as_bearer_key.status_code == 401
    assert with_token.status_code == 204


async def test_rate_limit_per_end_user_with_retry_after(tmp_path) -> None:
    """Past the per-user limit a user gets 429 rate_limited with Retry-After; others do not."""
    async with serve(make_settings(tmp_path, rate_limit_per_user=2)) as backend:
        headers = {"X-API-Key": API_KEY}
        async with httpx.AsyncClient(base_url=backend.url, headers=headers) as c:
            codes = [
                (
                    await c.post("/tasks", json=free_body(), headers={"X-End-User-Id": "42"})
                ).status_code
                for _ in range(3)
            ]
            limited = await c.post("/tasks", json=free_body(), headers={"X-End-User-Id": "42"})
            other = await c.post("/tasks", json=free_body(), headers={"X-End-User-Id": "43"})
    assert codes == [202, 202, 429]
    assert limited.json()["error_code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert other.status_code == 202


async def test_rate_limit_per_key(tmp_path) -> None:
    """Past the per-key limit the key gets 429, whatever the end user."""
    headers = {"X-API-Key": API_KEY}
    settings = make_settings(tmp_path, rate_limit_per_key=2)
    codes = []
    async with (
        serve(settings) as backend,
        httpx.AsyncClient(base_url=backend.url, headers=headers) as c,
    ):
        for i in range(3):
            answer = await c.post("/tasks", json=free_body(), headers={"X-End-User-Id": str(i)})
            codes.append(answer.status_code)
    assert codes == [202, 202, 429]


async def test_refused_prompt_names_the_category_only(client: httpx.AsyncClient) -> None:
    """A prompt the policy refuses answers 422 with its code and a sentence without the words."""
    answer = await client.post("/tasks", json=free_body(REFUSED_NO_STRIKE))
    assert (answer.status_code, answer.json()["error_code"]) == (422, "policy_nudity")
    assert "nude" not in answer.json()["error"].lower()


async def test_strikes_lead_to_rate_limit_then_suspension(tmp_path) -> None:
    """Strikes count per end user: first a cool-down (429), then user_suspended (403)."""
    settings = make_settings(
        tmp_path, strikes_rate_limit_at=2, strikes_suspend_at=3, strike_cooldown_s=0
    )
    async with serve(settings) as backend:
        headers = {"X-API-Key": API_KEY, "X-End-User-Id": "777"}
        async with httpx.AsyncClient(base_url=backend.url, headers=headers) as c:
            first = await c.post("/tasks", json=free_body(REFUSED_WITH_STRIKE))
            harmless = await c.post("/tasks", json=free_body())
            no_strike = await c.post("/tasks", json=free_body(REFUSED_NO_STRIKE))
            await c.post("/tasks", json=free_body(REFUSED_WITH_STRIKE))
            await c.post("/tasks", json=free_body(REFUSED_WITH_STRIKE))
            suspended = await c.post("/tasks", json=free_body())
            other_user = await c.post("/tasks", json=free_body(), headers={"X-End-User-Id": "778"})
    assert (first.status_code, first.json()["error_code"]) == (422, "policy_minors")
    assert harmless.status_code == 202
    assert no_strike.json()["error_code"] == "policy_nudity"
    assert (suspended.status_code, suspended.json()["error_code"]) == (403, "user_suspended")
    assert other_user.status_code == 202


async def test_strike_cooldown_answers_rate_limited(tmp_path) -> None:
    """Between the cool-down and the suspension thresholds, the user waits with 429."""
    settings = make_settings(
        tmp_path, strikes_rate_limit_at=1, strikes_suspend_at=5, strike_cooldown_s=120
    )
    async with serve(settings) as backend:
        headers = {"X-API-Key": API_KEY, "X-End-User-Id": "9"}
        async with httpx.AsyncClient(base_url=backend.url, headers=headers) as c:
            await c.post("/tasks", json=free_body(REFUSED_WITH_STRIKE))
            waiting = await c.post("/tasks", json=free_body())
    assert (waiting.status_code, waiting.json()["error_code"]) == (429, "rate_limited")
    assert 100 <= int(waiting.headers["Retry-After"]) <= 120


async def test_styles_lists_styles_modes_and_limits(client: httpx.AsyncClient) -> None:
    """GET /styles shows every style with resolutions, LoRAs, modes and ComfyUI's samplers."""
    body = (await client.get("/styles")).json()
    ids = {s["id"] for s in body["styles"]}
    assert ids == {"realism", "lux", "chatgpt", "anime"}
    anime = next(s for s in body["styles"] if s["id"] == "anime")
    assert [512, 768] in anime["resolutions"]
    assert body["modes"]["clothes_removal"]["available"] is False
    assert "euler" in body["limits"]["samplers"]
    assert "karras" in body["limits"]["schedulers"]
    assert body["content_policy"] == "sfw"


async def test_metrics_count_requests_jobs_and_failures(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """/metrics exports requests by route, jobs by mode/style, failures by code, queue depth."""
    await client.post("/tasks", json=free_body())
    lease = await worker.lease()
    assert lease is not None
    await worker.failure(lease, "out_of_memory")
    await client.post("/tasks", json=free_body())
    text = (await client.get("/metrics")).text
    assert 'genpod_http_requests_total{route="/tasks",status="202"} 2.0' in text
    assert 'genpod_jobs_submitted_total{mode="free",style="realism"} 2.0' in text
    assert 'genpod_job_failures_total{error_code="out_of_memory"} 1.0' in text
    assert "genpod_queue_depth 1.0" in text


async def test_openapi_documents_the_public_api(client: httpx.AsyncClient) -> None:
    """OpenAPI lists every public route; /docs serves."""
    schema = (await client.get("/openapi.json")).json()
    for path in (
        "/generate",
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/image",
        "/tasks/{task_id}/events",
    ):
        assert path in schema["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_adult_confirmation_reaches_the_policy_and_the_job(tmp_path) -> None:
    """Under CONTENT_POLICY=adult, X-Adult-Confirmed decides; the job carries adult_allowed."""
    settings = make_settings(tmp_path, content_policy="adult")
    async with serve(settings) as backend, httpx.AsyncClient(base_url=backend.url) as c:
        headers = {"X-API-Key": API_KEY, "X-End-User-Id": "5"}
        unconfirmed = await c.post("/tasks", json=free_body(REFUSED_NO_STRIKE), headers=headers)
        confirmed = await c.post(
            "/tasks",
            json=free_body(REFUSED_NO_STRIKE),
            headers={**headers, "X-Adult-Confirmed": "true"},
        )
        worker = Worker(backend.url)
        lease = await worker.lease()
        await worker.close()
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["error_code"] == "adult_confirmation_required"
    assert confirmed.status_code == 202
    assert lease is not None
    assert lease["job"]["content"] == {
        "policy": "adult",
        "image_conditioned": False,
        "adult_allowed": True,
    }


async def test_health_counts_todays_jobs_and_failures(client: httpx.AsyncClient) -> None:
    """/health counts jobs created since UTC midnight and those that failed since then."""
    before = (await client.get("/health")).json()
    for _ in range(2):
        assert (await client.post("/tasks", json=free_body())).status_code == 202
    after = (await client.get("/health")).json()
    assert (before["jobs_today"], before["failures_today"]) == (0, 0)
    assert (after["jobs_today"], after["failures_today"]) == (2, 0)


def test_utc_midnight_is_the_start_of_the_day() -> None:
    """utc_midnight maps any moment of a UTC day to that day's 00:00."""
    noon = 1_764_158_400.0  # 2025-11-26 12:00:00 UTC
    assert utc_midnight(noon) == 1_764_115_200.0
    assert utc_midnight(1_764_115_200.0) == 1_764_115_200.0
