"""`clinguide serve`: the JSON API, CDS Hooks services and web pages with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from clinguide.commands.common import fail


def _prepare_store() -> None:
    """Create or upgrade the editorial store (SQLite by default) so the editorial pages work from the start."""
    from clinguide.editorial.db import StoreUnavailable
    from clinguide.editorial.overlay import pack_dir
    from clinguide.editorial.workflow import EditorialStore
    from clinguide.settings import get_settings

    settings = get_settings()
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        EditorialStore(settings.database_url, pack_dir())
    except StoreUnavailable as exc:
        fail(f"editorial store: {exc}", code=1)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it on this machine.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option(help="Worker processes (each loads the knowledge pack).")] = 1,
        log_level: Annotated[str, typer.Option(help="critical, error, warning, info or debug.")] = "info",
        trusted_proxy: Annotated[
            str | None,
            typer.Option(
                "--trusted-proxy",
                envvar="CLINGUIDE_TRUSTED_PROXIES",
                help="Addresses of the reverse proxy (comma-separated) whose X-Forwarded-For/-Proto are believed: "
                "the client address for rate limits, https for Secure cookies and HSTS. Default: none.",
            ),
        ] = None,
    ) -> None:
        """Serve POST /api/check|assess|ask, CDS Hooks at /cds-services, /healthz and the web pages.

        Development: CLINGUIDE_CDS_ALLOW_UNSIGNED=1 accepts CDS calls without a JWT from localhost only
        (`make run` sets it). See docs/cds-hooks.md.
        """
        if not 0 < port < 65536:
            fail(f"--port: {port} is not a TCP port (1-65535)")
        if workers < 1:
            fail(f"--workers: {workers} must be at least 1")
        if log_level not in ("critical", "error", "warning", "info", "debug"):
            fail(f"--log-level: '{log_level}' is not accepted; use critical, error, warning, info or debug")
        from clinguide.service.protect import check_settings
        from clinguide.settings import SettingError, get_settings

        try:
            check_settings(get_settings())
        except SettingError as exc:
            fail(str(exc))
        _prepare_store()
        import uvicorn

        proxies = [p.strip() for p in (trusted_proxy or "").split(",") if p.strip()]

        uvicorn.run(
            "clinguide.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
            server_header=False,
        )
