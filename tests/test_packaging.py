"""A plain (non-editable) install works: the wheel carries its prompts and no stray packages."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from notelens.store import migrate
from tests.conftest import model_env
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.imagegen.text import EN_SENTENCES, render_lines

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("notelens-*.whl")
    return built


def test_the_wheel_holds_one_package_with_its_prompts(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"notelens"}
    assert "notelens/prompts/ocr.zh.md" in names and "notelens/prompts/polish.en.md" in names
    assert "notelens/locale/zh/LC_MESSAGES/notelens.po" in names
    assert "notelens/locale/en/LC_MESSAGES/notelens.po" in names
    migrations = "notelens/store/migrations/"
    assert {migrations + "env.py", migrations + "script.py.mako"} <= set(names)
    assert migrations + "versions/0001_initial.py" in names
    assert "notelens/pipeline/models/captcha.onnx" in names
    web = "notelens/http/web/"
    assert {web + "templates/page.html", web + "static/page.js", web + "static/page.css"} <= set(
        names
    )


def test_notes_from_a_plain_install_in_another_folder(
    wheel: Path, tmp_path: Path, fake_model: FakeOpenAI
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    # The fresh environment gets the wheel only; its dependencies come from the test
    # environment's site-packages, added by a .pth file (whose own .pth files, such as
    # the editable install's, are not processed, so `notelens` can only be the wheel's).
    fresh_site = next(env_dir.glob("lib/python*/site-packages"))
    (fresh_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(fresh_site),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    render_lines(EN_SENTENCES[:4], width=900).save(work / "page.png")
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PROMPTS_DIR")}
    where = subprocess.run(
        [str(python), "-c", "import notelens; print(notelens.__file__)"],
        capture_output=True,
        text=True,
        cwd=work,
        env=clean,
        check=True,
    ).stdout
    assert where.startswith(str(fresh_site)), where

    env = clean | model_env(fake_model, llm_base_url=fake_model.url, llm_api_key="sk-test-secret")

    def notelens(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-m", "notelens", *args],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=120,
        )

    done = notelens("notes", "page.png", "-o", "notes.md", "--lang", "en")
    assert done.returncode == 0, done.stderr
    document = (work / "notes.md").read_text()
    assert "site-packages" not in document + done.stderr
    assert "FileNotFoundError" not in document + done.stderr
    assert "## Page 1" in document  # the catalogue came with the wheel
    prompts = [r.texts for r in fake_model.requests]
    packaged = (ROOT / "src/notelens/prompts/ocr.en.md").read_text().strip()
    assert any(packaged in p for p in prompts)

    # The schema's migrations come with the wheel: no alembic.ini, no source tree.
    env["DATABASE_PATH"] = str(work / "data" / "notelens.db")
    upgraded = notelens("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert f"schema at revision {head}" in upgraded.stderr
