"""Every text the bot shows a person, in Chinese and English.

Messages are HTML (the bot sends with parse_mode=HTML): placeholders are filled
with escaped values by `t()`, so user or model text can never break the markup.
"""

from __future__ import annotations

import html
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
TASKS = ("notes", "ocr", "classify", "captcha")

MESSAGES: dict[str, dict[Lang, str]] = {
    "help": {
        "zh": (
            "👋 我是 <b>NoteLens</b>，帮你读照片。\n\n"
            "发一张照片（或以<b>文件</b>发送原图，识别更准；支持 HEIC 和 PDF），"
            "我会按你的默认模式处理：当前是 <b>{mode}</b>。\n\n"
            "• 给照片加说明 <code>/notes</code>、<code>/ocr</code>、<code>/classify</code>、"
            "<code>/captcha</code>，或用这些命令<b>回复</b>一张照片，执行对应任务\n"
            "• 说明里写一个问题，或回复照片 <code>/ask 问题</code>，我来回答\n"
            "• <code>/classify 猫, 狗, 风景</code>：这一次用这些类别分类\n"
            "• 相册（多张照片一起发）会合成一份笔记\n\n"
            "设置：<code>/mode notes|ocr|classify|captcha</code> · <code>/categories</code> · "
            "<code>/lang zh|en</code>"
        ),
        "en": (
            "👋 I'm <b>NoteLens</b>: I read your photos.\n\n"
            "Send a photo (or the original as a <b>file</b> for better OCR; HEIC and PDF work too) "
            "and I run your default mode, currently <b>{mode}</b>.\n\n"
            "• Caption a photo <code>/notes</code>, <code>/ocr</code>, <code>/classify</code> or "
            "<code>/captcha</code>, or send one of these as a <b>reply</b> to a photo\n"
            "• Write a question as the caption, or reply to a photo with "
            "<code>/ask question</code>\n"
            "• <code>/classify cat, dog, landscape</code>: classify with these categories once\n"
            "• An album (several photos at once) becomes one notes document\n\n"
            "Settings: <code>/mode notes|ocr|classify|captcha</code> · <code>/categories</code> · "
            "<code>/lang zh|en</code>"
        ),
    },
    "help_group": {
        "zh": (
            "👋 在群里我只看<b>命令</b>、<b>@我</b>的消息（文字或图片说明）和<b>回复我</b>的消息"
            "（Telegram 的隐私模式）。\n\n"
            "发照片时在说明里 @{bot} 或写 <code>/ocr@{bot}</code>，或者用命令回复一张照片。"
            "私聊我可以用全部功能。"
        ),
        "en": (
            "👋 In groups I only see <b>commands</b>, messages that <b>mention me</b> "
            "(in text or captions) and <b>replies to my messages</b> (Telegram's privacy mode).\n\n"
            "Mention @{bot} in a photo's caption, caption it <code>/ocr@{bot}</code>, or reply to "
            "a photo with a command. In a private chat you can use everything."
        ),
    },
    "lang_set": {"zh": "好的，以后用中文回复。", "en": "OK, I'll answer in English."},
    "lang_usage": {
        "zh": "用法：<code>/lang zh</code> 或 <code>/lang en</code>",
        "en": "Usage: <code>/lang zh</code> or <code>/lang en</code>",
    },
    "mode_set": {
        "zh": "默认模式已设为 <b>{mode}</b>。",
        "en": "Default mode set to <b>{mode}</b>.",
    },
    "mode_usage": {
        "zh": "当前默认模式：<b>{mode}</b>\n用法：<code>/mode notes|ocr|classify|captcha</code>",
        "en": (
            "Current default mode: <b>{mode}</b>\n"
            "Usage: <code>/mode notes|ocr|classify|captcha</code>"
        ),
    },
    "categories_show": {
        "zh": (
            "你的分类类别：\n{list}\n\n"
            "<code>/categories set a, b, c</code> · <code>/categories add x</code> · "
            "<code>/categories remove x</code> · <code>/categories reset</code>"
        ),
        "en": (
            "Your categories:\n{list}\n\n"
            "<code>/categories set a, b, c</code> · <code>/categories add x</code> · "
            "<code>/categories remove x</code> · <code>/categories reset</code>"
        ),
    },
    "categories_not_found": {"zh": "没有这个类别：{name}", "en": "No such category: {name}"},
    "categories_empty": {
        "zh": "类别不能为空：至少保留一个。",
        "en": "Categories cannot be empty: keep at least one.",
    },
    "categories_too_many": {
        "zh": "类别太多了（最多 {n} 个，每个最多 {m} 个字符）。",
        "en": "Too many categories (at most {n}, each up to {m} characters).",
    },
    "refused": {
        "zh": "抱歉，这个机器人只对授权用户开放。你的 Telegram ID 是 <code>{user_id}</code>，"
        "可以把它发给管理员申请开通。",
        "en": "Sorry, this bot is only open to approved users. Your Telegram ID is "
        "<code>{user_id}</code>; send it to the admin to ask for access.",
    },
    "rate_limited": {
        "zh": "你发得太快了：每分钟最多 {n} 个任务。请 {seconds} 秒后再试。",
        "en": "You're sending too fast: at most {n} jobs a minute. Try again in {seconds} s.",
    },
    "file_too_big": {
        "zh": "这个文件有 {size} MB，Telegram 只允许机器人下载 {limit} MB 以内的文件。"
        "请压缩或裁剪后再发。",
        "en": "This file is {size} MB; Telegram lets bots download files up to {limit} MB. "
        "Please compress or crop it and send it again.",
    },
    "unsupported_file": {
        "zh": "我只能读取图片（JPEG、PNG、WebP、HEIC…）和 PDF，这个文件（{name}）不是。",
        "en": "I can only read images (JPEG, PNG, WebP, HEIC…) and PDFs; this file ({name}) "
        "is neither.",
    },
    "image_empty": {"zh": "这个文件是空的。", "en": "This file is empty."},
    "not_image": {
        "zh": "这个文件不是我能读取的图片。",
        "en": "This file is not an image I can read.",
    },
    "image_corrupt": {
        "zh": "这张图片已损坏或不完整，请重新发送。",
        "en": "This image is damaged or incomplete; please send it again.",
    },
    "image_too_large": {
        "zh": "这张图片的像素太多了，无法处理。请缩小后再发。",
        "en": "This image has far too many pixels to process; please send a smaller one.",
    },
    "pdf_invalid": {
        "zh": "这个 PDF 已损坏或加密，无法读取。",
        "en": "This PDF is damaged or encrypted and cannot be read.",
    },
    "pdf_empty": {"zh": "这个 PDF 没有页面。", "en": "This PDF has no pages."},
    "pdf_truncated": {
        "zh": "⚠️ PDF 共 {total} 页，只读取了前 {n} 页。",
        "en": "⚠️ The PDF has {total} pages; I read the first {n}.",
    },
    "image_invalid": {
        "zh": "这张图片无法读取。",
        "en": "I can't read this image.",
    },
    "download_failed": {
        "zh": "从 Telegram 下载文件失败了，请稍后再发一次。",
        "en": "Downloading the file from Telegram failed; please send it again in a moment.",
    },
    "model_error": {
        "zh": "抱歉，识别服务暂时出了问题（{code}）。请稍后点“重试”。",
        "en": "Sorry, the reading service had a problem ({code}). Please tap Retry in a moment.",
    },
    "no_model": {
        "zh": "这个功能需要视觉模型，但机器人还没有配置模型 API 密钥。请联系管理员。",
        "en": "This needs a vision model, and no model API key is configured. "
        "Please tell the admin.",
    },
    "internal_error": {
        "zh": "抱歉，处理时出错了。已经记录下来，请稍后再试。",
        "en": "Sorry, something went wrong. It has been logged; please try again later.",
    },
    "need_photo": {
        "zh": "请给照片加上这个命令作为说明，或者用它回复一张照片。",
        "en": "Send this command as a photo's caption, or as a reply to a photo.",
    },
    "ask_usage": {
        "zh": "用法：回复一张照片 <code>/ask 你的问题</code>",
        "en": "Usage: reply to a photo with <code>/ask your question</code>",
    },
    "send_photo": {
        "zh": "发一张照片给我吧。想问照片的问题，就回复那张照片。/help 查看用法。",
        "en": "Send me a photo. To ask about a photo, reply to it. /help shows how.",
    },
    "gone": {
        "zh": "找不到这张照片了，请重新发送。",
        "en": "I can't find that photo any more; please send it again.",
    },
    "working": {"zh": "⏳ 正在处理…", "en": "⏳ Working…"},
    "progress": {
        "zh": "⏳ 正在识别：第 {done}/{total} 页",
        "en": "⏳ Reading: page {done}/{total}",
    },
    "progress_done": {"zh": "✅ 已完成 {total} 页", "en": "✅ Done: {total} pages"},
    "category": {"zh": "分类：<b>{category}</b>", "en": "Category: <b>{category}</b>"},
    "category_line": {"zh": "{n}. {category}", "en": "{n}. {category}"},
    "captcha": {"zh": "验证码：<code>{text}</code>", "en": "Captcha: <code>{text}</code>"},
    "empty_result": {"zh": "（没有识别到文字）", "en": "(no text found)"},
    "read_offline": {
        "zh": "⚠️ 模型暂时不可用，这次由离线引擎识别，结果可能不够准确。",
        "en": (
            "⚠️ The model is unavailable right now: "
            "this was read offline and may be less accurate."
        ),
    },
    "notes_caption": {"zh": "📝 笔记：{title}", "en": "📝 Notes: {title}"},
    "notes_failed": {
        "zh": "⚠️ {n} 页没能识别，文档里已标出。",
        "en": "⚠️ {n} pages could not be read; they are marked in the document.",
    },
    "long_as_file": {
        "zh": "内容较长，已作为文件发送。",
        "en": "The text is long, so here it is as a file.",
    },
    "btn_notes": {"zh": "📝 笔记", "en": "📝 Notes"},
    "btn_ocr": {"zh": "🔤 文字", "en": "🔤 OCR"},
    "btn_classify": {"zh": "🏷 分类", "en": "🏷 Classify"},
    "btn_captcha": {"zh": "🔢 验证码", "en": "🔢 Captcha"},
    "btn_retry": {"zh": "🔁 重试", "en": "🔁 Retry"},
    "cb_working": {"zh": "好的，处理中…", "en": "On it…"},
    "cmd_start": {"zh": "开始使用", "en": "Get started"},
    "cmd_help": {"zh": "帮助", "en": "Help"},
    "cmd_notes": {"zh": "整理笔记（说明或回复照片）", "en": "Notes (caption or reply to a photo)"},
    "cmd_ocr": {
        "zh": "识别文字（说明或回复照片）",
        "en": "Read text (caption or reply to a photo)",
    },
    "cmd_classify": {"zh": "分类照片", "en": "Classify a photo"},
    "cmd_captcha": {"zh": "识别验证码", "en": "Read a captcha"},
    "cmd_ask": {"zh": "回复照片提问", "en": "Ask about a photo (reply)"},
    "cmd_mode": {"zh": "设置默认模式", "en": "Set the default mode"},
    "cmd_categories": {"zh": "管理分类类别", "en": "Manage categories"},
    "cmd_lang": {"zh": "切换语言 zh|en", "en": "Language zh|en"},
}

MODE_NAMES: dict[str, dict[Lang, str]] = {
    "notes": {"zh": "笔记 notes", "en": "notes"},
    "ocr": {"zh": "文字识别 ocr", "en": "OCR"},
    "classify": {"zh": "分类 classify", "en": "classify"},
    "captcha": {"zh": "验证码 captcha", "en": "captcha"},
}

MENU_COMMANDS = (
    "start",
    "help",
    "notes",
    "ocr",
    "classify",
    "captcha",
    "ask",
    "mode",
    "categories",
    "lang",
)


def lang_from_code(language_code: str | None) -> Lang:
    """Telegram's language_code: zh, zh-hans, zh-TW … → Chinese; anything else → English."""
    return "zh" if (language_code or "").lower().startswith("zh") else "en"


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang`, with every value HTML-escaped."""
    catalog = MESSAGES[key]
    template = catalog.get(lang) or catalog["en"]  # type: ignore[call-overload]
    escaped = {k: html.escape(str(v), quote=False) for k, v in values.items()}
    return template.format(**escaped) if escaped else template


def mode_name(lang: str, mode: str) -> str:
    names = MODE_NAMES.get(mode)
    return names.get(lang, mode) if names else mode  # type: ignore[call-overload]
