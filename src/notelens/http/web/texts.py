"""The page's language and its texts.

The language is the `lang` query (the switch), else the cookie the switch left, else the
browser's Accept-Language (the first of Chinese or English it prefers), else English.
Every text comes from the catalogue (`notelens.i18n`); templates call `_("web_…")` and the
keys are listed here, where the catalogue test finds them.
"""

from __future__ import annotations

from ...i18n import LANGS, N_, Lang, plain

LANG_COOKIE = "notelens_lang"

TASK_LABELS = {
    "notes": N_("web_task_notes"),
    "ocr": N_("web_task_ocr"),
    "classify": N_("web_task_classify"),
    "captcha": N_("web_task_captcha"),
    "ask": N_("web_task_ask"),
    "receipt": N_("web_task_receipt"),
}

# Used by the templates (`_("key")`).
PAGE_KEYS = (
    N_("web_tagline"),
    N_("web_new_job"),
    N_("web_drop"),
    N_("web_camera"),
    N_("web_task"),
    N_("web_categories_field"),
    N_("web_question_field"),
    N_("web_question_hint"),
    N_("web_submit"),
    N_("web_progress"),
    N_("web_result"),
    N_("web_pages_found"),
    N_("web_page_n"),
    N_("web_download_md"),
    N_("web_download_zip"),
    N_("web_col_photo"),
    N_("web_col_file"),
    N_("web_col_category"),
    N_("web_merchant"),
    N_("web_date"),
    N_("web_total"),
    N_("web_items"),
    N_("web_item_name"),
    N_("web_quantity"),
    N_("web_amount"),
    N_("web_failed"),
    N_("web_recent_jobs"),
    N_("web_no_jobs"),
    N_("web_your_notes"),
    N_("web_no_notes"),
    N_("web_your_categories"),
    N_("web_categories_help"),
    N_("web_save"),
    N_("web_reset"),
    N_("web_categories_saved"),
    N_("web_sign_in"),
    N_("web_sign_in_help"),
    N_("web_api_key"),
    N_("web_key_wrong"),
    N_("web_sign_out"),
    N_("web_signed_in_telegram"),
    N_("web_signed_in_key"),
    N_("web_link_expired"),
    N_("web_link_expired_help"),
    N_("web_link_invalid"),
    N_("web_link_invalid_help"),
    N_("web_back"),
    N_("web_not_found"),
    N_("web_not_found_help"),
    N_("web_warning"),
)

# Read by page.js (sent in the page as JSON).
SCRIPT_KEYS = (
    N_("web_files_chosen"),
    N_("web_need_files"),
    N_("web_need_question"),
    N_("web_queued"),
    N_("web_running"),
    N_("web_running_pages"),
    N_("web_done"),
    N_("web_upload_failed"),
    N_("web_connection_lost"),
    N_("web_remove_file"),
)


def lang_from_accept(header: str | None) -> Lang | None:
    """The first of our languages in an Accept-Language header, by the browser's weights."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and weight > 0:
            ranked.append((-weight, i, primary))
    return "zh" if ranked and min(ranked)[2] == "zh" else ("en" if ranked else None)


def page_lang(query: str | None, cookie: str | None, accept: str | None) -> Lang:
    for choice in (query, cookie):
        if choice in LANGS:
            return "zh" if choice == "zh" else "en"
    return lang_from_accept(accept) or "en"


def script_texts(lang: str) -> dict[str, str]:
    return {key: plain(lang, key) for key in SCRIPT_KEYS}
