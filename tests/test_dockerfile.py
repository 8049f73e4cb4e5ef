"""No Docker engine runs here: check by reading what the image would run and need."""

from __future__ import annotations

import json
import re
from pathlib import Path

from notelens.cli import build_parser
from notelens.config import Settings

DOCKERFILE = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text()


def instruction(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", joined, re.M)]


def test_the_command_is_the_bot_subcommand() -> None:
    (cmd,) = instruction("CMD")
    argv = json.loads(cmd)
    assert argv[0] == "notelens"
    assert build_parser().parse_args(argv[1:]).command == "bot"


def test_runs_as_a_non_root_user_with_data_on_a_volume() -> None:
    users = instruction("USER")
    assert users and users[-1] not in ("root", "0")
    env = " ".join(instruction("ENV"))
    db = re.search(r"DATABASE_PATH=(\S+)", env).group(1)
    (volume,) = instruction("VOLUME")
    assert str(Path(db).parent) in json.loads(volume)


def test_env_names_are_real_settings_and_prompts_come_from_the_package() -> None:
    env = " ".join(instruction("ENV"))
    fields = {name.upper() for name in Settings.model_fields}
    for name in re.findall(r"([A-Z_]+)=", env):
        if not name.startswith(("PYTHON", "PIP_")):
            assert name in fields, name
    assert "PROMPTS_DIR" not in env


def test_the_source_tree_is_copied_and_installed_plainly() -> None:
    copied = {c.split()[0] for c in instruction("COPY")}
    assert {"src", "pyproject.toml"} <= copied
    assert any(run.startswith("pip install . ") for run in instruction("RUN"))
