"""Job store: SQLAlchemy 2 async tables, the engine, migrations and the repository."""
