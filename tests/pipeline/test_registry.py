"""A new task is one registration: the CLI and the bot both find it in the registry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from notelens.cli import main
from notelens.pipeline import registry
from notelens.pipeline.context import Context, ImageInput
from notelens.pipeline.registry import Options, TaskSpec
from notelens.pipeline.results import TaskResult
from notelens.telegram.runner import task_buttons

from .test_cli import write_image


async def _size(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    image = await ctx.decode(images[0])
    return TaskResult(f"{image.width}x{image.height} ({o.language})")


@pytest.fixture
def size_task(monkeypatch: pytest.MonkeyPatch) -> TaskSpec:
    spec = TaskSpec("size", _size, "the size of an image")
    monkeypatch.setitem(registry.TASKS, "size", spec)
    return spec


def test_the_cli_runs_a_registered_task(
    size_task: TaskSpec,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = write_image(tmp_path / "a.png", size=(320, 200))
    assert main(["size", "--lang", "en", str(image)]) == 0
    assert capsys.readouterr().out.strip() == "320x200 (en)"


def test_the_bot_offers_a_registered_task(size_task: TaskSpec) -> None:
    labels = [b.text for row in task_buttons("en", "abc").inline_keyboard for b in row]
    datas = [b.callback_data for row in task_buttons("en", "abc").inline_keyboard for b in row]
    assert "size" in labels and "t:abc:size" in datas
    assert registry.modes()[-1] == "size"
