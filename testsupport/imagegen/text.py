"""Render known text with real fonts, for tests and benchmarks that need ground truth.

Fonts come from Debian packages installed by `.ci/run` (fonts-wqy-microhei,
fonts-wqy-zenhei, fonts-liberation, fonts-dejavu-core).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_FILES = {
    "zh-microhei": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "zh-zenhei": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "en-liberation-serif": "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "en-liberation-sans": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "en-dejavu": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
}
ZH_FONTS = ("zh-microhei", "zh-zenhei")
EN_FONTS = ("en-liberation-serif", "en-liberation-sans", "en-dejavu")

EN_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Meeting notes for the third quarter review.",
    "Photosynthesis converts light energy into chemical energy.",
    "Remember to submit the report before Friday.",
    "The derivative of x squared is two x.",
    "Water boils at one hundred degrees Celsius.",
    "Newton's second law states that force equals mass times acceleration.",
    "Chapter four covers sorting algorithms and their complexity.",
)
ZH_SENTENCES = (
    "今天的课堂笔记整理如下。",
    "光合作用把光能转化为化学能。",
    "请在星期五之前提交实验报告。",
    "牛顿第二定律说明力等于质量乘以加速度。",
    "第四章介绍排序算法及其复杂度。",
    "水在一百摄氏度时沸腾。",
    "学而时习之，不亦说乎。",
    "明天上午九点在图书馆集合。",
)


@cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONT_FILES[name]
    if not Path(path).exists():
        raise FileNotFoundError(f"font {name} missing: install it with apt-get (see .ci/run)")
    return ImageFont.truetype(path, size)


def render_lines(
    lines: list[str],
    *,
    font_name: str = "en-dejavu",
    size: int = 32,
    width: int | None = None,
    margin: int = 40,
    line_gap: float = 0.6,
    background: str | tuple[int, int, int] = "white",
    color: str | tuple[int, int, int] = "black",
) -> Image.Image:
    """Lines of text on a plain page; blank strings leave a blank line."""
    f = font(font_name, size)
    step = int(size * (1 + line_gap))
    text_w = max((int(f.getlength(line)) for line in lines if line), default=size)
    w = width or text_w + 2 * margin
    h = 2 * margin + step * max(1, len(lines))
    img = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        if line:
            draw.text((margin, margin + i * step), line, fill=color, font=f)
    return img
