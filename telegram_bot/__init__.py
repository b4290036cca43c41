"""genpod's Telegram bot: an aiogram 3 client of the backend's public API."""
