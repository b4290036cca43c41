"""Named conversation states (see README.md beside this file for the diagram)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Free(StatesGroup):
    """Free generation: description, then style."""

    prompt = State()
    style = State()


class Restyle(StatesGroup):
    """Restyle: photo, then style."""

    photo = State()
    style = State()


class Upscale(StatesGroup):
    """Upscale: one photo."""

    photo = State()


class Setup(StatesGroup):
    """Settings that need typed input."""

    seed = State()
