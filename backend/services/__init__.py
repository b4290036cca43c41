"""Backend services: the domain logic between routers and the store (no FastAPI here)."""
