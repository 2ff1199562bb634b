# The eventapp image: one process serving the API, the pages and (later) the websockets.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY eventapp ./eventapp
COPY migrations ./migrations
COPY static ./static
# Editable, so the code finds migrations/ and static/ beside it as in a checkout.
RUN pip install --no-cache-dir -e . \
    && useradd --system --home-dir /app eventapp \
    && mkdir -p /app/var && chown eventapp /app/var

USER eventapp
ENV EVENTAPP_HOST=0.0.0.0 EVENTAPP_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["eventapp", "run"]
