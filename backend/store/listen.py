"""Queue wake-ups between backend replicas on PostgreSQL: LISTEN/NOTIFY on one connection.

Each replica holds one dedicated asyncpg connection that LISTENs on `genpod_jobs` and
sends `pg_notify('genpod_jobs', <replica id>)` when a job enters the queue. Every other
replica then wakes its waiting lease calls at once; a replica skips its own notices (it
woke locally already). If the connection drops it comes back with backoff; meanwhile the
lease loop's periodic re-check still finds new work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

import asyncpg
from sqlalchemy.engine import make_url

CHANNEL = "genpod_jobs"
APPLICATION_NAME = "genpod-listen"  # lets operators (and tests) find these connections
PING_S = 30.0  # a silently dead TCP link shows up at the next ping
log = logging.getLogger(__name__)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain libpq-style DSN asyncpg takes, from a `postgresql+asyncpg://` URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class QueueWakeups:
    """One LISTEN connection per replica; `publish()` tells the other replicas to look."""

    def __init__(
        self,
        dsn: str,
        on_remote: Callable[[], None],
        backoff_s: tuple[float, float] = (0.2, 10.0),
    ) -> None:
        self.replica_id = secrets.token_hex(8)
        self._dsn = dsn
        self._on_remote = on_remote
        self._backoff = backoff_s
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._sends: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while listening

    async def start(self) -> None:
        """Try the first connection now (start-up never fails on it), then keep it up."""
        if not await self._connect():
            log.warning("LISTEN connection not up yet; retrying in the background")
        self._runner = asyncio.create_task(self._keep_up())

    async def close(self) -> None:
        """Stop reconnecting and close the connection."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._sends):
            task.cancel()
        await self._drop()

    def publish(self) -> None:
        """Send a NOTIFY in the background; losing one costs only the periodic re-check."""
        if self._conn is None:
            return
        task = asyncio.create_task(self._send(self._conn))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, conn: asyncpg.Connection) -> None:
        try:
            async with self._send_lock:  # one query at a time on an asyncpg connection
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, self.replica_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("NOTIFY %s failed: %s", CHANNEL, exc)

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload != self.replica_id:
            self._on_remote()

    async def _connect(self) -> bool:
        try:
            conn = await asyncpg.connect(
                self._dsn, server_settings={"application_name": APPLICATION_NAME}
            )
            conn.add_termination_listener(lambda _c: self._lost.set())
            await conn.add_listener(CHANNEL, self._on_notice)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("LISTEN %s: cannot connect: %s", CHANNEL, exc)
            return False
        self._lost.clear()
        self._conn = conn
        self.connected.set()
        return True

    async def _keep_up(self) -> None:
        delay = self._backoff[0]
        while True:
            if self._conn is not None:
                await self._watch()
                await self._drop()
                log.warning("LISTEN %s connection lost; reconnecting", CHANNEL)
                # missed notices while down: one local wake makes waiters re-read the queue
                self._on_remote()
            if await self._connect():
                delay = self._backoff[0]
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _watch(self) -> None:
        """Return once the connection is lost (closed by the server or failing a ping)."""
        while self._conn is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), PING_S)
                return
            try:
                async with self._send_lock:
                    await asyncio.wait_for(self._conn.execute("SELECT 1"), PING_S)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.connected.clear()
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(OSError, TimeoutError, asyncpg.InterfaceError):
                await asyncio.wait_for(conn.close(), 5)
