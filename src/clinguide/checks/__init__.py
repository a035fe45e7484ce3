"""Prescription safety checks: one module per family, run by ``registry``, entered through ``engine.check``."""
