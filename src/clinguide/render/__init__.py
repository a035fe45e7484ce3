"""Renderers: terminal (rich), markdown, HTML, JSON."""
