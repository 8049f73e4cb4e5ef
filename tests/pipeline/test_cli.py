"""The `notelens` command line against the fake model server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from notelens.cli import main
from tests.conftest import model_env
from testsupport.fakes import openai_server as fake
from testsupport.fakes.openai_server import FakeOpenAI, Recorded
from testsupport.imagegen.text import render_lines

SECRET = "sk-test-secret"


def write_image(path: Path, color: str = "red", size=(200, 150)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG" if path.suffix == ".jpg" else "PNG")
    path.write_bytes(buf.getvalue())
    return path


def by_color(req: Recorded) -> fake.Reply:
    """Red images are pets, blue ones are work: the fake looks at the pixels."""
    if "CATEGORIES:" not in req.texts:
        return fake.default_responder(req)
    r, _g, b = req.images[0].convert("RGB").getpixel((5, 5))
    return fake.text("宠物" if r > b else "这不是宠物，是工作")


@pytest.fixture
def env(fake_model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    for key, value in model_env(fake_model).items():
        monkeypatch.setenv(key, value)
    fake_model.responder = by_color
    return fake_model


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    write_image(root / "cat.jpg", "red")
    write_image(root / "nested" / "deeper" / "report.png", "blue")
    write_image(root / "nested" / "dog.jpg", "red")
    (root / "notes.txt").write_text("not an image, and not picked up from a folder")
    return root


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_classify_folder_recursively_as_json(env, photos, capsys) -> None:
    assert main(["classify", str(photos), "--json"]) == 0
    rows = {Path(r["file"]).name: r for r in json_lines(capsys.readouterr().out)}
    assert set(rows) == {"cat.jpg", "report.png", "dog.jpg"}
    assert rows["cat.jpg"]["category"] == "宠物"
    assert rows["report.png"]["category"] == "工作"
    assert rows["report.png"]["raw"] == "这不是宠物，是工作"
    assert len(env.requests) == 3


def test_classify_table_and_custom_categories(env, photos, capsys) -> None:
    env.responder = lambda req: fake.text("Dogs")
    assert main(["classify", str(photos / "cat.jpg"), "--categories", "cats, dogs，birds"]) == 0
    out = capsys.readouterr().out
    assert "cat.jpg" in out and "dogs" in out
    assert "3. birds" in env.requests[0].texts


def test_sort_into_moves_without_overwriting_and_keeps_failures(env, photos, tmp_path, capsys):
    sorted_root = tmp_path / "sorted"
    write_image(sorted_root / "宠物" / "cat.jpg", "green")  # an existing file with the same name
    bad = photos / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken jpeg")
    code = main(["classify", str(photos), "--json", "--sort-into", str(sorted_root), "--move"])
    assert code == 1  # one input failed
    rows = {Path(r["file"]).name: r for r in json_lines(capsys.readouterr().out)}
    assert rows["broken.jpg"]["category"] is None and "error" in rows["broken.jpg"]
    assert bad.exists()  # a file that failed stays where it was
    assert not (photos / "cat.jpg").exists() and not (photos / "nested" / "dog.jpg").exists()
    pets = sorted(p.name for p in (sorted_root / "宠物").iterdir())
    assert pets == ["cat-1.jpg", "cat.jpg", "dog.jpg"]
    # the file that was there first is untouched
    assert Image.open(sorted_root / "宠物" / "cat.jpg").getpixel((5, 5))[1] > 100
    assert (sorted_root / "工作" / "report.png").exists()


def test_a_failed_copy_never_deletes_the_source(env, photos, tmp_path, capsys) -> None:
    sorted_root = tmp_path / "sorted"
    sorted_root.mkdir()
    (sorted_root / "宠物").write_text("a file where the folder should be")
    code = main(
        ["classify", str(photos / "cat.jpg"), "--json", "--sort-into", str(sorted_root), "--move"]
    )
    assert code == 1
    (row,) = json_lines(capsys.readouterr().out)
    assert "could not move" in row["error"]
    assert "宠物" in row["error"] and str(tmp_path) not in row["error"]  # named, not its path
    assert (photos / "cat.jpg").exists()


def test_category_names_cannot_escape_the_folder(env, photos, tmp_path, capsys) -> None:
    env.responder = lambda req: fake.text("../../etc")
    sorted_root = tmp_path / "sorted"
    assert (
        main(
            [
                "classify",
                str(photos / "cat.jpg"),
                "--categories",
                "../../etc,b",
                "--sort-into",
                str(sorted_root),
                "--json",
            ]
        )
        == 0
    )
    (row,) = json_lines(capsys.readouterr().out)
    assert Path(row["sorted_to"]).resolve().is_relative_to(sorted_root.resolve())


def test_single_image_commands(env, photos, capsys) -> None:
    img = str(photos / "text.png")
    render_lines(["Fake OCR line"]).save(img)
    env.reply(fake.text("Fake OCR line"))
    assert main(["ocr", img]) == 0
    assert capsys.readouterr().out.strip() == "Fake OCR line"
    env.reply(fake.text("验证码：X7Y9"))
    assert main(["captcha", img, "--length", "4"]) == 0
    assert capsys.readouterr().out.strip() == "X7Y9"
    env.reply(fake.text("A red square."))
    assert main(["ask", img, "What is this?"]) == 0
    assert capsys.readouterr().out.strip() == "A red square."
    assert "What is this?" in env.requests[-1].texts


def test_missing_key_is_a_config_error(photos, capsys) -> None:
    assert main(["classify", str(photos / "cat.jpg")]) == 3
    assert "VLM_API_KEY" in capsys.readouterr().err


def test_unreachable_endpoint_exits_4(photos, capsys, monkeypatch) -> None:
    monkeypatch.setenv("VLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("VLM_API_KEY", SECRET)
    monkeypatch.setenv("VLM_MAX_RETRIES", "0")
    assert main(["ask", str(photos / "cat.jpg"), "What?"]) == 4
    err = capsys.readouterr().err
    assert "Cannot reach" in err and SECRET not in err


def test_bad_file_exits_2(env, photos, capsys) -> None:
    assert main(["ocr", str(photos / "notes.txt")]) == 2
    assert "not an image" in capsys.readouterr().err
    assert main(["ocr", str(photos / "missing.png")]) == 2
    assert env.requests == []


def test_console_script_runs_end_to_end(fake_model: FakeOpenAI, photos: Path) -> None:
    """The installed `notelens` entry point, as a user runs it."""
    exe = str(Path(sys.executable).parent / "notelens")
    env = {**os.environ, **model_env(fake_model)}
    fake_model.responder = by_color
    done = subprocess.run(
        [exe, "classify", str(photos), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert {r["category"] for r in json_lines(done.stdout)} == {"宠物", "工作"}
    assert SECRET not in done.stdout + done.stderr


def reads_as(text_: str):  # type: ignore[no-untyped-def]
    """The fake model reads every page as `text_` and polishes it unchanged."""

    def respond(req: Recorded) -> fake.Reply:
        return fake.text(text_ if req.image_urls else req.user_text)

    return respond


def page_image(path: Path) -> Path:
    render_lines(["Some lines of notes", "and a second one"]).save(path)
    return path


def test_notes_document_follows_the_language_of_its_text(env, tmp_path, capsys) -> None:
    env.responder = reads_as("# Meeting\nBudget, hiring and the plan for the third quarter.")
    assert main(["notes", str(page_image(tmp_path / "page.png"))]) == 0
    out = capsys.readouterr().out
    assert "> 1 page · " in out and "## Page 1" in out
    assert "共" not in out and "页" not in out

    env.responder = reads_as("# 会议\n预算、招聘和第三季度的计划。")
    assert main(["notes", str(tmp_path / "page.png")]) == 0
    out = capsys.readouterr().out
    assert "> 共 1 页 · " in out and "## 第 1 页" in out

    # Asked for a language: the document is in it, whatever the text.
    assert main(["notes", str(tmp_path / "page.png"), "--lang", "en"]) == 0
    assert "> 1 page · " in capsys.readouterr().out


def test_errors_name_the_file_never_its_path(env, photos, tmp_path, capsys, monkeypatch) -> None:
    folder = str(photos)
    assert main(["ocr", str(photos / "notes.txt")]) == 2
    err = capsys.readouterr().err
    assert "notes.txt: This file is not an image I can read." in err and folder not in err
    assert main(["notes", str(photos / "notes.txt"), "--lang", "zh"]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "不是我能读取的图片" in err and folder not in err

    # Sizes in MB as people count them: the default limit of 50 × 2²⁰ bytes is "50 MB".
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.truncate(51 * 2**20)  # sparse: nothing is written or read
    assert main(["ocr", str(huge), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "huge.png: the file is 51 MB; the limit is 50 MB." in err and str(tmp_path) not in err

    # A document with a bad input says which one, by name, in its own language.
    env.responder = reads_as("Budget and hiring.")
    page = str(page_image(tmp_path / "page.png"))
    assert main(["notes", page, str(photos / "notes.txt"), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "⚠️ notes.txt could not be read: This file is not an image I can read." in out
    assert folder not in out and str(tmp_path) not in out

    # A prompt file that cannot be read is named, not dumped with its path or a traceback.
    prompts = tmp_path / "my prompts"
    prompts.mkdir()
    (prompts / "ocr.en.md").write_bytes(b"\xff\xfe not utf-8 \xc3")
    monkeypatch.setenv("PROMPTS_DIR", str(prompts))
    assert main(["ocr", page, "--lang", "en"]) == 3
    err = capsys.readouterr().err
    assert "ocr.en.md" in err and str(prompts) not in err and "Traceback" not in err
    assert main(["notes", page, "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "ocr.en.md cannot be read" in out and str(prompts) not in out


def test_english_plurals_on_the_command_line(env, tmp_path, capsys, monkeypatch) -> None:
    env.responder = reads_as("Budget and hiring.")
    monkeypatch.chdir(tmp_path)
    page_image(tmp_path / "page.png")
    assert main(["notes", "page.png", "-o", "out.md", "--lang", "en"]) == 0
    assert "wrote out.md (1 page)" in capsys.readouterr().err
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")  # no --lang: the locale's language
    assert main(["pages", "page.png"]) == 0
    assert capsys.readouterr().out.startswith("1 页，")


def test_an_output_that_cannot_be_written_is_named(env, tmp_path, capsys) -> None:
    env.responder = reads_as("Budget and hiring.")
    page = str(page_image(tmp_path / "page.png"))
    out = tmp_path / "no such folder" / "notes.md"
    assert main(["notes", page, "-o", str(out), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "notes.md: No such file or directory" in err and str(tmp_path) not in err
    assert "Traceback" not in err
