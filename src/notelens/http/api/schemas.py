"""What the API answers, as Pydantic models: they are the OpenAPI schema at /openapi.json,
and the schema is the contract (the property tests check every answer against it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Task = Literal["notes", "ocr", "classify", "captcha", "ask", "receipt"]
Status = Literal["queued", "running", "done", "failed"]
Language = Literal["zh", "en"]


class ErrorInfo(BaseModel):
    code: str = Field(description="stable, for programs: `not_image`, `model_unavailable`...")
    message: str = Field(description="for people, in Chinese or English (Accept-Language)")


class ErrorReply(BaseModel):
    error: ErrorInfo


class Progress(BaseModel):
    done: int = Field(ge=0, description="inputs (notes: pages) finished")
    total: int = Field(ge=0)
    stage: str | None = Field(default=None, description="`ocr`, `polish`, `task`")


class Usage(BaseModel):
    """Whatever the models reported, summed over the job; zeros for the offline engine."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    image_tokens: int = 0
    pages: int = Field(default=0, description="inputs read (images, or pages of a PDF)")
    seconds: float | None = Field(default=None, description="from submission to the result")


class ItemResult(BaseModel):
    """One input's answer (notes: one page of the document)."""

    index: int = Field(ge=1)
    text: str = ""
    error: ErrorInfo | None = None
    warnings: list[str] = Field(default_factory=list)
    engine: Literal["vlm", "local"] | None = None
    category: str | None = Field(default=None, description="classify: the category chosen")
    receipt: dict[str, Any] | None = Field(
        default=None,
        description="receipt: merchant, date, currency, total, items (null: not a receipt)",
    )


class JobResult(BaseModel):
    text: str = Field(description="the whole answer as text (notes: the Markdown document)")
    items: list[ItemResult]
    warnings: list[str] = Field(default_factory=list)
    title: str | None = Field(default=None, description="notes: the document's title")
    markdown: str | None = Field(default=None, description="notes: the document")
    language: str | None = Field(default=None, description="notes: the document's language")


class Job(BaseModel):
    id: str
    task: Task
    status: Status
    progress: Progress
    result: JobResult | None = None
    error: ErrorInfo | None = None
    usage: Usage
    created_at: float = Field(description="Unix seconds")


class Accepted(BaseModel):
    id: str
    status: Status


class JobEvent(BaseModel):
    """An event of `/events`: `progress` while the job runs, then `done` with the job."""

    id: str
    status: Status
    progress: Progress


class OcrRequest(BaseModel):
    image: str = Field(description="the image, base64-encoded (a data: URL prefix is accepted)")


class OcrReply(BaseModel):
    success: bool
    ocr_result: str | None = None
    preprocessed_image: str | None = Field(
        default=None, description="base64 PNG of what was sent to the model (or offline engine)"
    )
    error: str | None = None


class AnalyzeReply(BaseModel):
    text: str
