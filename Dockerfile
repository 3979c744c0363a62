# HyT-NAS Studio: the web app (gunicorn, static files served by whitenoise), also the image the RQ
# workers and the reconciler run from. See compose.yaml and README.md, "Scaling out".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HYTNAS_REQUIRE_SECRET_KEY=1

WORKDIR /app

# torch==2.13.0 in requirements.txt means the CPU build, which PyTorch publishes on its own index.
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY . .

# Static files are collected into var/staticfiles at build time (the key is only for this step).
# The code stays owned by root; the app user may write var/ alone.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 hytnas \
    && chown -R hytnas:hytnas var
USER hytnas

EXPOSE 8000
# Processes and threads: one per processor and 4 each unless HYTNAS_WEB_WORKERS / HYTNAS_WEB_THREADS say otherwise.
CMD ["gunicorn", "hytnas_web.wsgi:application", "--config", "python:hytnas_web.gunicorn_conf", "--bind", "0.0.0.0:8000", "--no-control-socket", "--access-logfile", "-"]
