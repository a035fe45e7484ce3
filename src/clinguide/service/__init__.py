"""HTTP interfaces: the JSON API, CDS Hooks 2.0 services and the web pages (FastAPI)."""
