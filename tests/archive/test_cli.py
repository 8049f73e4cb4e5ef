"""`notelens notes --archive`, `notelens search`, `notelens export` against the fake model."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from notelens.archive import ArchivedPage, NewNote, Source, open_archive
from notelens.archive.cli import CLI_OWNER
from notelens.cli import main
from notelens.config import Settings
from tests.conftest import model_env
from testsupport.fakes import openai_server as fake
from testsupport.fakes.openai_server import FakeOpenAI, Recorded
from testsupport.imagegen.text import render_lines

OCR = {
    "white": "## 线性代数\n今天学习了矩阵的乘法。",
    "yellow": "## Operating systems\nThe scheduler picks the next thread.",
}


def by_paper(req: Recorded) -> fake.Reply:
    if req.image_urls:
        blue = req.images[0].convert("RGB").getpixel((3, 3))[2]
        return fake.text(OCR["yellow" if blue < 200 else "white"])
    if "CATEGORIES:" in req.texts:
        return fake.text("工作" if "thread" in req.texts else "二次元")
    return fake.text(req.user_text)


def page(path: Path, paper: str) -> Path:
    buf = io.BytesIO()
    background = (255, 250, 150) if paper == "yellow" else "white"
    render_lines(["Some notes", "on a page"], size=30, background=background).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def env(fake_model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenAI:
    for key, value in model_env(fake_model, database_path=tmp_path / "db" / "n.db").items():
        monkeypatch.setenv(key, value)
    fake_model.responder = by_paper
    return fake_model


def test_notes_are_archived_searched_and_exported(env, tmp_path, capsys) -> None:
    white, yellow = page(tmp_path / "white.png", "white"), page(tmp_path / "yellow.png", "yellow")
    assert main(["notes", str(white), "--archive"]) == 0
    assert "已存档为第 1 条笔记（二次元）" in capsys.readouterr().err
    assert main(["notes", str(yellow), "--archive", "-o", str(tmp_path / "os.md")]) == 0
    assert "archived as note 2 (工作)" in capsys.readouterr().err
    assert not any(r.image_urls and "CATEGORIES:" in r.texts for r in env.requests)

    assert main(["search", "矩阵"]) == 0
    out = capsys.readouterr().out
    assert "线性代数" in out and "矩阵的乘法" in out and "Operating" not in out
    assert main(["search", "scheduler", "thread"]) == 0
    out = capsys.readouterr().out
    assert "Operating systems" in out and "线性代数" not in out
    assert main(["search", "无此词", "--lang", "zh"]) == 0
    assert "没有找到笔记" in capsys.readouterr().out
    assert main(["search", "nowhere", "--lang", "en"]) == 0
    assert "no notes found" in capsys.readouterr().out

    vault = tmp_path / "vault"
    assert main(["export", str(vault)]) == 0
    files = sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*.md"))
    assert files == ["二次元/0001 线性代数.md", "工作/0002 Operating systems.md"]
    text = (vault / files[1]).read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["source"] == {"kind": "files", "files": ["yellow.png"]}
    assert meta["category"] == "工作"
    assert main(["export", str(tmp_path / "notes.zip")]) == 0
    assert (tmp_path / "notes.zip").stat().st_size > 0


async def test_archive_retention_days_prunes_when_the_archive_opens(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "n.db"))
    archive = await open_archive(Settings())
    old = datetime.now(UTC) - timedelta(days=31)
    for title, when in (("old", old), ("new", None)):
        page = ArchivedPage(1, raw="矩阵")
        await archive.add(
            CLI_OWNER, NewNote(title, "# x\n", [page], Source("files"), "x", created_at=when)
        )
    await archive.aclose()
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "30")
    archive = await open_archive(Settings())
    try:
        assert [n.title for n in await archive.latest(CLI_OWNER)] == ["new"]
    finally:
        await archive.aclose()
