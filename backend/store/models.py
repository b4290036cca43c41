"""Tables of the job store; times are epoch seconds (floats) so SQLite and PostgreSQL agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base for every backend table."""


class JobRow(Base):
    """One generation job, from queued to a final state."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_queue", "state", "priority", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    style: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str | None] = mapped_column(String(8), nullable=True)
    checkpoint: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str] = mapped_column(String(128))
    end_user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_refs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    outcome_lease_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    adult: Mapped[bool] = mapped_column(Boolean, default=False)
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    result_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)


class EndUserRow(Base):
    """Policy strikes of one end user of one client (the bot's Telegram user)."""

    __tablename__ = "end_users"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    strikes: Mapped[int] = mapped_column(Integer, default=0)
    last_strike_at: Mapped[float] = mapped_column(Float, default=0.0)
