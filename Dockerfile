# One image for every Reunify process: migrate, worker, beat, flower and the CLI.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY workers ./workers
COPY config ./config
RUN pip install --no-cache-dir . && useradd --create-home reunify
USER reunify
CMD ["reunify", "--help"]
