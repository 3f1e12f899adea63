# roombot image: `docker build -t roombot .`; see docker-compose.yml for the processes.
# Slim Python of the version in .python-version; dependencies from the lock (requirements.txt),
# then the app itself; runs as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-deps -r requirements.txt

COPY pyproject.toml setup.py babel.cfg README.md app.py ./
COPY bot ./bot
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 roombot
USER roombot

EXPOSE 3000
# /healthz answers while the process lives (python, not curl: the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]

CMD ["python", "app.py"]
