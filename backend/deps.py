"""FastAPI dependencies: the service container, the API caller and the worker token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from backend.errors import AccessDenied, RequestRejected
from backend.services.events import Notifier
from backend.services.maintenance import Maintenance
from backend.services.metrics import Metrics
from backend.services.requests import RequestRules
from backend.services.scheduler import Scheduler
from backend.services.submit import Caller, Submission
from backend.services.tasks import TaskService
from backend.services.workers import WorkerRegistry
from backend.settings import BackendSettings
from backend.store.jobs import JobStore
from common.error_codes import ErrorCode


@dataclass
class Services:
    """Everything routes need, built once in the lifespan."""

    settings: BackendSettings
    api_keys: dict[str, str]
    store: JobStore
    rules: RequestRules
    submission: Submission
    tasks: TaskService
    scheduler: Scheduler
    maintenance: Maintenance
    workers: WorkerRegistry
    metrics: Metrics
    notifier: Notifier


async def get_services(request: Request) -> Services:
    """The app's service container (async: sync dependencies would cost a thread hop each)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_caller(
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header()] = None,
    x_end_user_id: Annotated[str | None, Header(max_length=128)] = None,
    x_adult_confirmed: Annotated[str | None, Header()] = None,
) -> Caller:
    """The client behind X-API-Key, its end user and 18+ confirmation."""
    name = services.api_keys.get(x_api_key or "")
    if name is None:
        raise AccessDenied(ErrorCode.UNAUTHORIZED, "A valid X-API-Key header is required.")
    if x_end_user_id is not None and not x_end_user_id.strip():
        raise RequestRejected(
            ErrorCode.INVALID_PARAM, "X-End-User-Id must not be empty.", status=400
        )
    adult = (x_adult_confirmed or "").strip().lower() == "true"
    return Caller(key_name=name, end_user_id=x_end_user_id, adult_confirmed=adult)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def require_worker(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Accept only `Authorization: Bearer <WORKER_TOKEN>` (never an API key)."""
    token = services.settings.worker_token.get_secret_value()
    scheme, _, given = (authorization or "").partition(" ")
    if not token or scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), token):
        raise AccessDenied(ErrorCode.UNAUTHORIZED, "A valid worker token is required.")


WorkerDep = Depends(require_worker)
