# NoteLens Telegram bot. Build: docker build -t notelens .
# Run:   docker run -d --env-file .env -v notelens-data:/data notelens
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# CJK fonts: PDFs without embedded fonts render with them instead of as boxes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# A plain (non-editable) install: prompts ship inside the package. The offline OCR
# engine (RapidOCR with its bundled PP-OCRv6 models) installs with it.
RUN pip install . && rm -rf /app/src

RUN useradd --create-home --uid 10001 notelens \
 && mkdir -p /data \
 && chown notelens /data
USER notelens

ENV DATABASE_PATH=/data/notelens.db
VOLUME ["/data"]

CMD ["notelens", "bot"]
