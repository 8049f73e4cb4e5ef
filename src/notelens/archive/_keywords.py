"""Up to five keywords of a note, found locally (no model call): the note's own headings
and bold terms first, then English words it repeats. Chinese needs no segmenter here:
notes put their topics in headings, and search does not depend on keywords."""

from __future__ import annotations

import re
from collections import Counter

HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)
BOLD = re.compile(r"\*\*([^*\n]{2,30})\*\*")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{3,}")
STOPWORDS = frozenset(
    {
        "about",
        "above",
        "after",
        "again",
        "against",
        "also",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "could",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "from",
        "further",
        "have",
        "having",
        "here",
        "into",
        "itself",
        "just",
        "more",
        "most",
        "other",
        "over",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "until",
        "very",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "your",
        "page",
        "note",
        "notes",
        "",
    }
)
MAX_CHARS = 30


def keywords(text: str, title: str = "", limit: int = 5) -> list[str]:
    found: dict[str, str] = {}

    def add(word: str) -> None:
        word = word.strip(" *_`#:：")
        key = word.lower()
        if 2 <= len(word) <= MAX_CHARS and key != title.lower() and key not in found:
            found[key] = word

    for m in HEADING.finditer(text):
        add(m.group(1))
    for m in BOLD.finditer(text):
        add(m.group(1))
    words = Counter(w.lower() for w in LATIN_WORD.findall(text))
    for word, n in words.most_common():
        if n < 2:
            break
        if word not in STOPWORDS:
            add(word)
    return list(found.values())[:limit]
