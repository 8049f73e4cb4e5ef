"""Property-based tests of the API against its own OpenAPI schema (schemathesis): whatever a
client sends, valid by the schema or not, no 500, and every answer is one the schema
describes (status, content type, headers, body)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import model_env
from testsupport.fakes.openai_server import FakeOpenAI

from .conftest import KEY, Serve

EXAMPLES = 15  # per operation and mode (Hypothesis' default is 100): a bounded run
OPERATIONS = [
    "POST /api/v1/jobs",
    "GET /api/v1/jobs/{job_id}",
    "DELETE /api/v1/jobs/{job_id}",
    "GET /api/v1/jobs/{job_id}/events",
    "GET /api/v1/jobs/{job_id}/document",
    *(f"POST /api/v1/{task}" for task in ("notes", "ocr", "classify", "captcha", "ask", "receipt")),
    "POST /ocr",
    "POST /api/v1/analyze",
    "GET /healthz",
    "GET /readyz",
]


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[schemathesis.Schema]:
    """`notelens serve` in a subprocess: schemathesis calls it synchronously."""
    with FakeOpenAI() as model:
        serve = Serve(tmp_path, model_env(model, API_KEYS=KEY, API_RATE_PER_MIN=100000))
        try:
            asyncio.run(serve.ready())
            yield schemathesis.openapi.from_url(f"{serve.url}/openapi.json")
        finally:
            serve.stop()
        log = serve.log_path.read_text()
        assert "Traceback" not in log and "Exception" not in log, log


# Invalid input for each operation that takes any (the health checks take none).
RUNS = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE)
    for label in OPERATIONS
    if not label.endswith(("/healthz", "/readyz"))
]


def test_every_answer_keeps_to_the_schema(api_schema: schemathesis.Schema) -> None:
    """One test (so one server, whichever xdist worker runs it), each operation in turn."""
    found = {op.ok().label for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)
    for label, mode in RUNS:
        method, path = label.split(" ", 1)
        try:
            check_operation(api_schema[path][method], mode)
        except BaseException as exc:
            exc.add_note(f"operation: {label}, {mode.value} examples")
            raise


def check_operation(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # Valid by the schema is not always acceptable: a schema cannot say "this file must
        # be an image", so well-formed bytes that are not one get 415 (documented), not 2xx.
        case.call_and_validate(
            headers={"Authorization": f"Bearer {KEY}"},
            excluded_checks=[positive_data_acceptance],
            timeout=30,
        )

    check()
