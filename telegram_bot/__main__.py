"""`python -m telegram_bot`: read settings, start the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from pydantic import ValidationError

from telegram_bot.settings import BotSettings

# a help text that names the variable, not a secret
MISSING_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, then put\n"  # noqa: S105
    "TELEGRAM_BOT_TOKEN=<the token it gives you> into telegram_bot/.env (see .env.example)."
)


def load_settings() -> BotSettings:
    """Settings from the environment, or a clear message and exit code 2."""
    try:
        return BotSettings()
    except ValidationError as exc:
        fields = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        if "telegram_bot_token" in fields:
            print(MISSING_TOKEN, file=sys.stderr)
        else:
            print(f"invalid bot settings:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> None:
    """Entry point."""
    settings = load_settings()
    # imported after the settings check: aiogram takes seconds to import, a typo should not
    from telegram_bot.app import run  # noqa: PLC0415

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
