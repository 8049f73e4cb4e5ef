"""Zero-shot classification into the user's own categories.

The answer is parsed with rules that hold for any category names in any
language (no keyword tables): exact name, quoted or numbered answer, a sentence
naming one category, negations ("这不是二次元，是宠物"), near spellings. What the
rules cannot place (an English answer for Chinese categories, say) is mapped by
one cheap text-only call to the LLM, which reads both languages.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from .. import prompts
from ..context import Context, ImageInput, image_message
from ..errors import ModelError
from ..results import ClassifyResult, Usage
from ..vlm import Completion

OTHER = "other"
OTHER_WORDS = {"other", "others", "none", "unknown", "其他", "其它", "无", "都不是", "以上都不是"}
STRIP = " \t\r\n\"'`“”‘’「」『』【】[]()（）<>《》〈〉.,。，、!！?？:：;；*_#-"
NEGATIONS_ZH = ("不是", "并非", "不属于", "而非", "不算", "不像", "并不是")
NEGATIONS_EN = re.compile(
    r"\b(not|isn't|isnt|aren't|no|never|neither|nor|rather than|instead of|without)\b[^,.;:!?]*$"
)
CLAUSE_BREAK = re.compile(r"[,，。;；.!！?？:：\n]")
TEXT_CHARS = 3000  # enough of a note to tell its topic; bounds the call
NUMBER_ANSWER = re.compile(r"(?:#|no\.?|option|category|类别|选项|第)?\s*(\d{1,3})\s*(?:类|项|个)?")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip(STRIP)


def _is_latin(word: str) -> bool:
    return all(ord(ch) < 0x2E80 for ch in word)


def _mentions(answer: str, category: str) -> list[int]:
    """Positions where `category` appears in `answer` as a whole word (for Latin names)."""
    if not category:
        return []
    if _is_latin(category):
        pattern = rf"(?<![\w]){re.escape(category)}(?:s|es)?(?![\w])"
    else:
        pattern = re.escape(category)
    return [m.start() for m in re.finditer(pattern, answer)]


def _negated(answer: str, position: int) -> bool:
    """A negation cue earlier in the same clause, close before the mention."""
    clause_start = 0
    for m in CLAUSE_BREAK.finditer(answer, 0, position):
        clause_start = m.end()
    before = answer[clause_start:position]
    window = before[-8:]
    if any(cue in window for cue in NEGATIONS_ZH):
        return True
    return bool(NEGATIONS_EN.search(before[-40:]))


def match_category(answer: str, categories: list[str]) -> tuple[str | None, list[str]]:
    """The category the answer names, `other`, or None when the rules cannot tell."""
    warnings: list[str] = []
    a = normalize(answer)
    if not a:
        return None, warnings
    norm = {normalize(c): c for c in categories}
    if a in norm:
        return norm[a], warnings
    if a in OTHER_WORDS:
        return OTHER, warnings
    if m := NUMBER_ANSWER.fullmatch(a):
        n = int(m.group(1))
        if 1 <= n <= len(categories):
            return categories[n - 1], warnings

    # Mentions inside a sentence; a longer name hides a shorter one inside it.
    spans: list[tuple[int, int, str]] = []
    for key, original in norm.items():
        spans.extend((pos, pos + len(key), original) for pos in _mentions(a, key))
    spans = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    affirmed = sorted((pos, cat) for pos, _end, cat in spans if not _negated(a, pos))
    distinct = list(dict.fromkeys(cat for _pos, cat in affirmed))
    if distinct:
        if len(distinct) > 1:
            warnings.append(f"the answer names several categories; took {distinct[0]!r}")
        return distinct[0], warnings
    if spans:  # every mention negated, and nothing else named
        return None, warnings

    close = difflib.get_close_matches(a, list(norm), n=1, cutoff=0.8)
    if close:
        return norm[close[0]], warnings
    return None, warnings


def parse_number(answer: str, categories: list[str]) -> str | None:
    m = re.search(r"\d+", answer)
    if not m:
        return None
    n = int(m.group())
    if n == 0:
        return OTHER
    return categories[n - 1] if n <= len(categories) else None


def clean_categories(categories: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for c in categories:
        c = c.strip()
        if c and normalize(c) not in seen:
            seen[normalize(c)] = c
    return list(seen.values())


async def classify(
    ctx: Context, image: ImageInput, categories: list[str], *, language: str = "zh"
) -> ClassifyResult:
    categories = clean_categories(categories)
    if not categories:
        raise ValueError("no categories given")
    client = ctx.require_vlm("Classification")
    prepared = await ctx.prepare(image, "classify")
    prompt = prompts.render(
        ctx.settings.prompts_dir, "classify", language, numbered=prompts.numbered(categories)
    )
    done = await client.complete(
        image_message(prepared, prompt),
        max_tokens=64,
        estimated_image_tokens=prepared.tokens,
        extra_body=client.provider_fields(high_resolution=False),
    )
    return await _decide(ctx, done, categories, language)


async def classify_text(
    ctx: Context, text: str, categories: list[str], *, language: str = "zh"
) -> ClassifyResult:
    """The same zero-shot choice on text (notes already read): one text-only call, no image.
    Without a text model the note is filed under `other`."""
    categories = clean_categories(categories)
    if not categories:
        raise ValueError("no categories given")
    client = ctx.llm or ctx.vlm
    if client is None:
        return ClassifyResult(text=OTHER, category=OTHER, categories=categories)
    prompt = prompts.render(
        ctx.settings.prompts_dir,
        "classify_text",
        language,
        numbered=prompts.numbered(categories),
        text=text[:TEXT_CHARS],
    )
    done = await client.complete([{"role": "user", "content": prompt}], max_tokens=64)
    return await _decide(ctx, done, categories, language)


async def _decide(
    ctx: Context, done: Completion, categories: list[str], language: str
) -> ClassifyResult:
    """The model's answer → one of the categories (rules first, then a mapping call)."""
    usage, warnings = done.usage, list(done.warnings)
    category, notes = match_category(done.text, categories)
    warnings += notes
    if category is None:
        mapped, map_usage = await _map_with_llm(ctx, done.text, categories, language)
        usage = usage + map_usage
        if mapped is None:
            warnings.append(f"could not match the answer {done.text[:80]!r} to a category")
        category = mapped or OTHER
    return ClassifyResult(
        text=category,
        raw=done.text,
        usage=usage,
        warnings=warnings,
        category=category,
        categories=categories,
    )


async def _map_with_llm(
    ctx: Context, answer: str, categories: list[str], language: str
) -> tuple[str | None, Usage]:
    """Ask the text model which category a free-form answer means."""
    client = ctx.llm or ctx.vlm
    if client is None or not answer.strip():
        return None, Usage()
    prompt = prompts.render(
        ctx.settings.prompts_dir,
        "classify_map",
        language,
        numbered=prompts.numbered(categories),
        answer=answer[:500],
    )
    try:
        done = await client.complete([{"role": "user", "content": prompt}], max_tokens=8)
    except ModelError:
        return None, Usage()
    return parse_number(done.text, categories), done.usage
