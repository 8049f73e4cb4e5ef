"""Captchas and short codes read offline, with what the user told us about them.

A captcha is one short line, so detection is skipped and the recognition model reads the
whole image. Its raw output is a probability for every character of its table at every
step (CTC); instead of taking the likeliest character at each step, we take the likeliest
string that fits: only characters of the given alphabet (case folded: captchas ignore case
and so does the answer), and exactly the given length. "wvddcp" for a five-character code
becomes "wddcp"; "#336e" with no "#" allowed becomes "n336e".
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

DEFAULT_ALPHABET = string.ascii_letters + string.digits


@dataclass
class CodeReading:
    text: str
    confidence: float  # geometric mean of the chosen path's step probabilities


def decode(
    probs: np.ndarray, table: list[str], *, length: int | None, alphabet: str | None
) -> CodeReading:
    """The likeliest CTC path over `probs` (steps × classes, class 0 the blank) that spells a
    string of `alphabet` (case-insensitively) of exactly `length` characters, when given."""
    allowed = set((alphabet or DEFAULT_ALPHABET).lower())
    groups: dict[str, list[int]] = {}
    for i, ch in enumerate(table):
        if i and len(ch) == 1 and ch.lower() in allowed:
            groups.setdefault(ch.lower(), []).append(i)
    if not groups:
        return CodeReading("", 0.0)
    keys = sorted(groups)
    chars = [_case(k, groups[k], probs, table, alphabet) for k in keys]
    # a character's probability at a step: the best of its cases
    p = np.stack([probs[:, groups[k]].max(axis=1) for k in keys], axis=1)
    logp = np.log(np.maximum(p, 1e-12))
    blank = np.log(np.maximum(probs[:, 0], 1e-12))
    steps = probs.shape[0]
    if length is None:
        best = np.argmax(np.concatenate([blank[:, None], logp], axis=1), axis=1)
        out, prev = [], 0
        for k in best:
            if k and k != prev:
                out.append(chars[k - 1])
            prev = k
        score = float(np.mean(np.max(np.concatenate([blank[:, None], logp], 1), 1)))
        return CodeReading("".join(out), float(np.exp(score)))
    return _exact(logp, blank, chars, length, steps)


def _case(
    key: str, classes: list[int], probs: np.ndarray, table: list[str], alphabet: str | None
) -> str:
    """How to write a case-folded character: as the alphabet has it when it has one case,
    else in the case the model saw most."""
    given = {ch for ch in alphabet or "" if ch.lower() == key}
    if len(given) == 1:
        return given.pop()
    return table[max(classes, key=lambda i: float(probs[:, i].max()))]


def _exact(
    logp: np.ndarray, blank: np.ndarray, chars: list[str], length: int, steps: int
) -> CodeReading:
    """Viterbi over (characters emitted, last symbol) with exactly `length` emissions."""
    n = len(chars)
    neg = -1e18
    # state: [k, 0] = k emitted, last step blank; [k, 1 + c] = k emitted, last step char c
    score = np.full((length + 1, n + 1), neg)
    score[0, 0] = blank[0]
    if length:
        score[1, 1:] = logp[0]
    back = np.zeros((steps, length + 1, n + 1), np.int32)  # previous state's symbol
    for t in range(1, steps):
        new = np.full_like(score, neg)
        # blank: from any state with the same count
        prev_best = score.argmax(axis=1)
        new[:, 0] = score.max(axis=1) + blank[t]
        back[t, :, 0] = prev_best
        # the same character again: no new emission
        stay = score[:, 1:] + logp[t]
        # a new character: from k - 1 after a blank or after another character
        from_blank = score[:-1, 0][:, None] + np.zeros(n)
        others = score[:-1, 1:]
        top2 = np.argsort(others, axis=1)[:, -2:]
        best_other = np.take_along_axis(others, top2[:, -1:], 1)[:, 0]
        second = np.take_along_axis(others, top2[:, :1], 1)[:, 0]
        excl = np.where(np.arange(n)[None] == top2[:, -1:], second[:, None], best_other[:, None])
        excl_src = np.where(np.arange(n)[None] == top2[:, -1:], top2[:, :1], top2[:, -1:]) + 1
        enter = np.maximum(from_blank, excl)
        enter_src = np.where(from_blank >= excl, 0, excl_src)
        new[1:, 1:] = np.maximum(stay[1:], enter + logp[t])
        back[t, 1:, 1:] = np.where(stay[1:] >= enter + logp[t], np.arange(n) + 1, enter_src)
        new[0, 1:] = neg
        score = new
    k, s = length, int(np.argmax(score[length]))
    total = float(score[length, s])
    if total <= neg / 2:
        return CodeReading("", 0.0)
    out = []
    for t in range(steps - 1, 0, -1):
        prev = int(back[t, k, s])
        if s and prev != s:  # entered here: an emission
            out.append(chars[s - 1])
            k -= 1
        s = prev
    if s:
        out.append(chars[s - 1])
    text = "".join(reversed(out))
    return CodeReading(text, float(np.exp(total / steps)))
