"""File and folder names made from titles and categories people typed."""

from __future__ import annotations

from pathvalidate import sanitize_filename

MAX_NAME_BYTES = 80  # well under every file system's 255, leaves room for the number


def safe_name(text: str, fallback: str) -> str:
    """One name that is valid on Windows, macOS and Linux (no reserved names, no
    separators or control characters, no leading dot, no trailing dot or space)."""
    flat = " ".join(text.split())
    name = sanitize_filename(flat, platform="universal", max_len=MAX_NAME_BYTES)
    name = name.lstrip(". ")
    name = sanitize_filename(name, platform="universal", max_len=MAX_NAME_BYTES)
    return name or fallback


def note_file_name(number: int, title: str) -> str:
    """`0007 线性代数 第3讲.md`: the number keeps names unique and in order."""
    return f"{number:04d} {safe_name(title, 'note')}.md"
