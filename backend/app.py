"""create_app(settings): the backend FastAPI app, its lifespan and background sweeps."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from backend import handlers
from backend.deps import Services
from backend.middleware import BodyLimitAndMetrics
from backend.routers import meta, public, worker
from backend.services.catalog import sampler_lists
from backend.services.content_policy import screen_prompt
from backend.services.content_policy.registry import DeliveryRegistry
from backend.services.events import Notifier
from backend.services.images import ImageLimits
from backend.services.maintenance import Maintenance, every
from backend.services.metrics import Metrics
from backend.services.policy import PromptScreen, StrikeBook, StrikeRules
from backend.services.ratelimit import RateLimiter
from backend.services.requests import RequestRules
from backend.services.results import FreshResults, ResultFiles
from backend.services.scheduler import LeaseConfig, Scheduler
from backend.services.submit import Submission, SubmitConfig
from backend.services.tasks import TaskService
from backend.services.workers import WorkerRegistry
from backend.settings import BackendSettings
from backend.store.engine import create_engine, migrate
from backend.store.jobs import JobStore
from backend.store.listen import QueueWakeups, asyncpg_dsn
from common.styles import load_styles

log = logging.getLogger(__name__)


def build_rules(settings: BackendSettings) -> RequestRules:
    """Request rules from the settings, the styles file and ComfyUI's schema."""
    samplers, schedulers = sampler_lists(settings.object_info_path)
    return RequestRules(
        catalog=load_styles(settings.styles_path),
        samplers=samplers,
        schedulers=schedulers,
        images=ImageLimits(
            max_bytes=int(settings.max_image_mb * 1_000_000),
            max_pixels=settings.max_image_pixels,
        ),
        max_prompt_chars=settings.max_prompt_chars,
    )


def build_services(
    settings: BackendSettings, store: JobStore, screen: PromptScreen, metrics: Metrics
) -> Services:
    """Wire the services around one store."""
    clock = time.time
    rules = build_rules(settings)
    files = ResultFiles(settings.data_dir)
    notifier = Notifier()
    workers = WorkerRegistry(settings.worker_seen_window_s)
    fresh = FreshResults()
    tasks = TaskService(store, files, notifier, clock, fresh)
    strikes = StrikeBook(
        store,
        StrikeRules(
            settings.strikes_rate_limit_at, settings.strikes_suspend_at, settings.strike_cooldown_s
        ),
    )
    submission = Submission(
        store=store,
        files=files,
        notifier=notifier,
        rules=rules,
        config=SubmitConfig(
            settings.content_policy, settings.queue_deadline_s, settings.job_deadline_s
        ),
        screen=screen,
        strikes=strikes,
        key_limiter=RateLimiter(settings.rate_limit_per_key, "API key"),
        user_limiter=RateLimiter(settings.rate_limit_per_user, "user"),
        metrics=metrics,
        clock=clock,
    )
    lease = LeaseConfig(
        settings.lease_ttl_s,
        settings.max_attempts,
        settings.affinity_max_wait_s,
        settings.lease_recheck_s,
    )
    registry = DeliveryRegistry(settings.data_dir / "delivered.sqlite3")
    scheduler = Scheduler(store, files, notifier, workers, metrics, lease, clock, fresh, registry)
    maintenance = Maintenance(
        store,
        files,
        notifier,
        tasks,
        metrics,
        settings.max_attempts,
        settings.result_retention_s,
        clock,
    )
    return Services(
        settings=settings,
        api_keys=settings.api_key_names(),
        store=store,
        rules=rules,
        submission=submission,
        tasks=tasks,
        scheduler=scheduler,
        maintenance=maintenance,
        workers=workers,
        metrics=metrics,
        notifier=notifier,
    )


async def _wait_all(tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks)


async def _listen(stack: AsyncExitStack, url: str, notifier: Notifier) -> None:
    """On PostgreSQL, wake this replica's lease waiters when another replica queues a job."""
    wakeups = QueueWakeups(asyncpg_dsn(url), on_remote=notifier.queue.fire)
    await wakeups.start()
    stack.push_async_callback(wakeups.close)
    notifier.on_queued = wakeups.publish


def begin_shutdown(app: FastAPI) -> None:
    """Answer every open long poll and event stream now, so stopping never waits them out."""
    services = getattr(app.state, "services", None)
    if isinstance(services, Services):
        services.notifier.close()


def create_app(settings: BackendSettings) -> FastAPI:
    """The backend app; the store and services come up in its lifespan."""
    metrics = Metrics()  # made here: the middleware needs it before the lifespan runs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine = create_engine(settings.resolved_database_url())
            stack.push_async_callback(engine.dispose)
            await migrate(engine)
            services = build_services(settings, JobStore(engine), screen_prompt, metrics)
            app.state.services = services
            if engine.dialect.name == "postgresql":
                await _listen(stack, settings.resolved_database_url(), services.notifier)
            stop = asyncio.Event()
            loops = [
                asyncio.create_task(every(interval, action, stop))
                for interval, action in (
                    (settings.reaper_interval_s, services.maintenance.reap),
                    (settings.retention_interval_s, services.maintenance.sweep),
                )
            ]
            stack.push_async_callback(_wait_all, loops)
            stack.callback(stop.set)
            log.info("backend ready: store %s", engine.url.render_as_string(hide_password=True))
            yield

    app = FastAPI(title="genpod backend", version="0.1.0", lifespan=lifespan)
    max_body = int(settings.max_body_mb * 1_000_000)
    app.add_middleware(BodyLimitAndMetrics, max_body_bytes=max_body, metrics=metrics)
    handlers.install(app)
    app.include_router(public.router)
    app.include_router(worker.router)
    app.include_router(meta.router)
    return app
