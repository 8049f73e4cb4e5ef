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
            "• 相册（多张照片一起发）会合成一份笔记\n"
            "• 🧾 小票记账：给小票照片加说明 <code>/receipt</code>，"
            "<code>/receipts</code> 看账本\n\n"
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
            "• An album (several photos at once) becomes one notes document\n"
            "• 🧾 Receipts: caption a receipt photo <code>/receipt</code>; "
            "<code>/receipts</code> shows the ledger\n\n"
            "Settings: <code>/mode notes|ocr|classify|captcha</code> · <code>/categories</code> · "
            "<code>/lang zh|en</code>"
        ),
    },
    "help_group": {
        "zh": (
            "👋 在群里我只看<b>命令</b>、<b>@我</b>的消息（文字或图片说明）和<b>回复我</b>的消息"
            "（Telegram 的隐私模式）。\n\n"
            "发照片时在说明里 @{bot} 加上问题，或写 <code>/ocr@{bot}</code>，"
            "或者用命令回复一张照片。"
            "私聊我可以用全部功能。\n\n"
            "🧾 记账：小票照片加说明 <code>/receipt</code> 或 <code>#receipt</code>，"
            "或只 @{bot}；<code>/receipts help</code> 查看账本、结算和导出。"
        ),
        "en": (
            "👋 In groups I only see <b>commands</b>, messages that <b>mention me</b> "
            "(in text or captions) and <b>replies to my messages</b> (Telegram's privacy mode).\n\n"
            "Mention @{bot} with a question in a photo's caption, caption it "
            "<code>/ocr@{bot}</code>, or reply to "
            "a photo with a command. In a private chat you can use everything.\n\n"
            "🧾 Receipts: caption a receipt photo <code>/receipt</code> or <code>#receipt</code>, "
            "or just @{bot}; <code>/receipts help</code> for the ledger, split and export."
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
            "⚠️ The model is unavailable right now: this was read offline and may be less accurate."
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
    # --- receipts --------------------------------------------------------------
    "receipt_head": {"zh": "🧾 <b>{merchant}</b> · {date}", "en": "🧾 <b>{merchant}</b> · {date}"},
    "receipt_no_merchant": {"zh": "（商家未知）", "en": "(unknown shop)"},
    "receipt_no_date": {"zh": "无日期", "en": "no date"},
    "receipt_total": {"zh": "合计：<b>{amount}</b>", "en": "Total: <b>{amount}</b>"},
    "receipt_more_items": {"zh": "…还有 {n} 项", "en": "… and {n} more items"},
    "receipt_items_mismatch": {
        "zh": "⚠️ 各项相加是 {items}，和合计 {total} 不一致，请核对。",
        "en": "⚠️ The items add up to {items}, not the total {total}: please check.",
    },
    "receipt_future_date": {
        "zh": "⚠️ 日期在发送时间之后，可能识别错了，请核对。",
        "en": "⚠️ The date is after the photo was posted; it may be misread, please check.",
    },
    "receipt_paid_by": {"zh": "付款人：{name}", "en": "Paid by {name}"},
    "receipt_added_by": {
        "zh": "付款人：{name}（{requester} 添加）",
        "en": "Paid by {name} (added by {requester})",
    },
    "receipt_ask": {
        "zh": "确认后记入账本（付款人或管理员可以确认）。",
        "en": "Confirm to add it to the ledger (the payer or an admin can).",
    },
    "receipt_dup": {
        "zh": "⚠️ 这看起来和 <b>#{n}</b>（{name}，{when}）是同一张：{reason}。"
        "不会重复计入，除非点“仍然添加”。",
        "en": "⚠️ This looks like receipt <b>#{n}</b> ({name}, {when}): {reason}. "
        "It won't be counted twice unless you tap “Add anyway”.",
    },
    "receipt_dup_pending": {
        "zh": "⚠️ 这看起来和 {name} {when} 发的、还没确认的那张是同一张：{reason}。"
        "不会重复计入，除非点“仍然添加”。",
        "en": "⚠️ This looks like the receipt {name} posted {when}, still waiting for "
        "confirmation: {reason}. It won't be counted twice unless you tap “Add anyway”.",
    },
    "dup_same_photo": {"zh": "同一张照片", "en": "the same photo"},
    "dup_similar_photo": {"zh": "几乎相同的照片", "en": "a near-identical photo"},
    "dup_same_details": {"zh": "商家、日期和金额都相同", "en": "same shop, date and total"},
    "receipt_saved": {"zh": "✅ 已记入账本：<b>#{n}</b>", "en": "✅ Saved as <b>#{n}</b>"},
    "receipt_discarded": {"zh": "🗑 已丢弃，没有记入。", "en": "🗑 Discarded; not added."},
    "btn_confirm": {"zh": "✅ 确认", "en": "✅ Confirm"},
    "btn_discard": {"zh": "🗑 丢弃", "en": "🗑 Discard"},
    "btn_add_anyway": {"zh": "➕ 仍然添加", "en": "➕ Add anyway"},
    "btn_cancel": {"zh": "取消", "en": "Cancel"},
    "not_receipt": {
        "zh": "这张看起来不是小票或发票，所以没有记账。",
        "en": "This doesn't look like a receipt, so nothing was added.",
    },
    "receipt_invalid": {
        "zh": "这张小票我读了两次都没能读准。请拍得更清楚、更平整一些再发，或稍后点“重试”。",
        "en": "I couldn't read this receipt reliably, twice. Try a sharper, flatter photo, "
        "or tap Retry in a moment.",
    },
    "receipt_usage": {
        "zh": "把 <code>/receipt</code> 作为小票照片的说明发送，或者用它回复一张小票照片。",
        "en": "Send <code>/receipt</code> as the caption of a receipt photo, or as a reply to one.",
    },
    "cb_not_yours": {
        "zh": "只有付款人 {name} 或管理员可以操作。",
        "en": "Only {name} (who paid) or an admin can do this.",
    },
    "cb_only_you": {
        "zh": "只有发起的人可以回答。",
        "en": "Only the person who asked can answer this.",
    },
    "cb_stale": {"zh": "这条已经处理过了。", "en": "This was already handled."},
    "ledger_head": {
        "zh": "🧾 <b>账本 · {period}</b>：{n} 张小票",
        "en": "🧾 <b>Ledger · {period}</b>: {n} receipts",
    },
    "ledger_empty": {
        "zh": "{period} 还没有小票。给小票照片加说明 <code>/receipt</code> 就能记账。",
        "en": "No receipts for {period} yet. Caption a receipt photo <code>/receipt</code> "
        "to add one.",
    },
    "ledger_people": {"zh": "<b>每人合计</b>", "en": "<b>Per person</b>"},
    "ledger_person": {"zh": "• {name}（{n} 张）：{amounts}", "en": "• {name} ({n}): {amounts}"},
    "ledger_total": {"zh": "<b>总计</b>：{amounts}", "en": "<b>Total</b>: {amounts}"},
    "ledger_list": {"zh": "<b>明细</b>", "en": "<b>Receipts</b>"},
    "ledger_line": {
        "zh": "#{n} · {date} · {merchant} · {amount} · {name}",
        "en": "#{n} · {date} · {merchant} · {amount} · {name}",
    },
    "ledger_foot": {
        "zh": "月份按小票上的日期算；小票没有日期时按发送日期。"
        "<code>/receipts help</code> 查看全部用法。",
        "en": "Months go by the date on the receipt, or the day it was posted when it has "
        "none. <code>/receipts help</code> shows everything.",
    },
    "period_all": {"zh": "全部", "en": "all time"},
    "receipts_help": {
        "zh": (
            "🧾 <b>小票记账</b>\n\n"
            "记账：给小票照片加说明 <code>/receipt</code>（或 <code>#receipt</code>、@我），"
            "或者用 <code>/receipt</code> 回复一张照片；确认后才计入。\n\n"
            "<code>/receipts</code> 本月账本（每人、每种货币的合计）\n"
            "<code>/receipts month 2026-11</code> 其他月份\n"
            "<code>/receipts split [2026-11|all]</code> 谁该付给谁（每种货币平摊给记过账的人）\n"
            "<code>/receipts export [2026-11]</code> 导出 CSV（默认全部）\n"
            "<code>/receipts delete N</code> 删除第 N 张（付款人或管理员）\n"
            "<code>/receipts clear</code> 清空本群账本（管理员）\n"
            "<code>/receipts auto on|off</code> 自动模式：检查群里每张照片，"
            "只回复小票（管理员）\n"
            "<code>/forgetme</code> 删除你的设置和你发的所有小票\n\n"
            "月份按小票上的日期算；小票没有日期时按发送日期。每个聊天的账本互相独立。"
        ),
        "en": (
            "🧾 <b>Receipt ledger</b>\n\n"
            "Add: caption a receipt photo <code>/receipt</code> (or <code>#receipt</code>, or "
            "mention me), or reply to a photo with <code>/receipt</code>; it counts once "
            "confirmed.\n\n"
            "<code>/receipts</code> this month's ledger (per person and currency)\n"
            "<code>/receipts month 2026-11</code> another month\n"
            "<code>/receipts split [2026-11|all]</code> who pays whom (equal shares among "
            "the people who posted, per currency)\n"
            "<code>/receipts export [2026-11]</code> a CSV file (everything by default)\n"
            "<code>/receipts delete N</code> delete receipt #N (its payer or an admin)\n"
            "<code>/receipts clear</code> empty this chat's ledger (admins)\n"
            "<code>/receipts auto on|off</code> auto mode: check every photo posted here "
            "and answer only receipts (admins)\n"
            "<code>/forgetme</code> delete your settings and every receipt you posted\n\n"
            "Months go by the date on the receipt, or the day it was posted when it has none. "
            "Each chat's ledger is its own."
        ),
    },
    "month_bad": {
        "zh": "月份请写成 YYYY-MM，例如 <code>2026-11</code>。",
        "en": "Write the month as YYYY-MM, e.g. <code>2026-11</code>.",
    },
    "export_empty": {
        "zh": "{period} 没有可导出的小票。",
        "en": "No receipts to export for {period}.",
    },
    "export_caption": {
        "zh": "🧾 {n} 张小票 · {period}",
        "en": "🧾 {n} receipts · {period}",
    },
    "split_head": {
        "zh": "💸 <b>结算 · {period}</b>\n每种货币分别平摊给记过账的人。",
        "en": "💸 <b>Settle up · {period}</b>\nEach currency is shared equally among the "
        "people who posted receipts in it.",
    },
    "split_currency": {
        "zh": "<b>{currency}</b>：共 {total}，{people} 人，每人约 {share}",
        "en": "<b>{currency}</b>: {total} in all, {people} people, about {share} each",
    },
    "split_transfer": {
        "zh": "• {debtor} → {creditor}：<b>{amount}</b>",
        "en": "• {debtor} → {creditor}: <b>{amount}</b>",
    },
    "split_even": {"zh": "• 已经两清", "en": "• Everyone is even"},
    "split_empty": {
        "zh": "{period} 没有小票，无需结算。",
        "en": "No receipts for {period}: nothing to settle.",
    },
    "delete_usage": {
        "zh": "用法：<code>/receipts delete N</code>（N 是账本里的编号）",
        "en": "Usage: <code>/receipts delete N</code> (N is the number in the ledger)",
    },
    "delete_not_found": {
        "zh": "这个聊天里没有 #{n}。",
        "en": "There is no receipt #{n} in this chat.",
    },
    "delete_forbidden": {
        "zh": "只有付款人 {name} 或群管理员可以删除 #{n}。",
        "en": "Only {name} (who paid) or a group admin can delete #{n}.",
    },
    "deleted": {
        "zh": "🗑 已删除 #{n}（{merchant}，{amount}）。",
        "en": "🗑 Deleted #{n} ({merchant}, {amount}).",
    },
    "admins_only": {"zh": "只有群管理员可以这样做。", "en": "Only group admins can do this."},
    "clear_ask": {
        "zh": "要删除这个聊天的全部 {n} 张小票吗？删除后无法恢复。",
        "en": "Delete all {n} receipts of this chat? This cannot be undone.",
    },
    "clear_empty": {"zh": "账本已经是空的。", "en": "The ledger is already empty."},
    "cleared": {"zh": "🗑 已删除 {n} 张小票。", "en": "🗑 Deleted {n} receipts."},
    "cancelled": {"zh": "已取消，什么都没删。", "en": "Cancelled; nothing was deleted."},
    "btn_clear_yes": {"zh": "🗑 全部删除", "en": "🗑 Delete all"},
    "auto_on": {
        "zh": "🤖 自动模式已开启：我会检查群里的每张照片，只回复小票，其他照片不打扰。",
        "en": "🤖 Auto mode is on: I'll check every photo posted here and answer only "
        "receipts; other photos are ignored.",
    },
    "auto_privacy": {
        "zh": "注意：Telegram 的隐私模式下，我要成为本群管理员（或在 @BotFather 关闭隐私模式）"
        "才能看到每张照片。",
        "en": "Note: with Telegram's privacy mode I only see every photo if I'm an admin here "
        "(or privacy mode is off in @BotFather).",
    },
    "auto_off": {
        "zh": "自动模式已关闭：给照片加说明 <code>/receipt</code>（或 @我）来记账。",
        "en": "Auto mode is off: caption a photo <code>/receipt</code> (or mention me) to add it.",
    },
    "auto_usage": {
        "zh": "自动模式现在是<b>{state}</b>。管理员可用 <code>/receipts auto on|off</code> 切换。",
        "en": "Auto mode is <b>{state}</b>. Admins switch it with "
        "<code>/receipts auto on|off</code>.",
    },
    "state_on": {"zh": "开启", "en": "on"},
    "state_off": {"zh": "关闭", "en": "off"},
    "auto_private": {
        "zh": "自动模式只用于群组。私聊里给照片加说明 <code>/receipt</code> 即可。",
        "en": "Auto mode is for groups. Here, caption a photo <code>/receipt</code>.",
    },
    "forget_ask": {
        "zh": "这会删除你的设置、你的近期任务，以及你在 {chats} 个聊天里发的 {n} 张小票，"
        "无法恢复。别人发的小票不受影响。确定吗？",
        "en": "This deletes your settings, your recent jobs and the {n} receipts you posted "
        "(in {chats} chats), everywhere, for good. Other people's receipts stay. Sure?",
    },
    "btn_forget_yes": {"zh": "删除我的数据", "en": "Delete my data"},
    "forget_done": {
        "zh": "已删除：你的设置和 {n} 张小票。",
        "en": "Done: your settings and {n} receipts are deleted.",
    },
    "cmd_receipt": {"zh": "记一张小票（说明或回复照片）", "en": "Add a receipt (caption or reply)"},
    "cmd_receipts": {"zh": "账本、结算、导出", "en": "Ledger, split, export"},
    "cmd_forgetme": {"zh": "删除我的数据", "en": "Delete my data"},
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
    "receipt",
    "receipts",
    "categories",
    "lang",
    "forgetme",
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


def too_big_text(lang: str, size: int | None, limit: int) -> str:
    """A file over the download limit, sizes in MB ("?" when Telegram did not say)."""
    shown = f"{size / 1e6:.1f}" if size is not None else "?"
    return t(lang, "file_too_big", size=shown, limit=f"{limit / 1e6:.0f}")
