"""No Docker engine runs here: check by reading what compose.yaml would run."""

from __future__ import annotations

from pathlib import Path

import yaml

from notelens.cli import build_parser
from notelens.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def notelens_services() -> dict[str, dict[str, object]]:
    return {name: s for name, s in SERVICES.items() if s.get("image") == "notelens"}


def test_two_serve_and_two_worker_processes_with_their_own_worker_ids() -> None:
    commands = {
        name: build_parser().parse_args(s["command"][1:]).command
        for name, s in notelens_services().items()
    }
    assert sorted(commands.values()) == ["serve", "serve", "worker", "worker"]
    ids = [s["environment"]["WORKER_ID"] for s in notelens_services().values()]
    assert len(set(ids)) == 4


def test_every_process_shares_postgresql_restarts_and_gets_the_grace_period() -> None:
    grace = Settings.model_fields["shutdown_grace_s"].default
    for service in notelens_services().values():
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert service["restart"] == "unless-stopped"
        assert int(str(service["stop_grace_period"]).rstrip("s")) > grace
    assert SERVICES["postgres"]["healthcheck"]


def test_the_proxy_spreads_the_webhook_over_both_serve_processes() -> None:
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "serve-1:8080" in caddy and "serve-2:8080" in caddy
    for name in ("serve-1", "serve-2"):
        args = SERVICES[name]["command"]
        assert args[args.index("--port") + 1] == "8080"
