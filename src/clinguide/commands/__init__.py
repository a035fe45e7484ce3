"""CLI verbs; each module exposes ``register(app)`` and keeps heavy imports inside the command."""
