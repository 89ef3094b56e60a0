# The deploy bot (`ape run watcher`) as a container, installed with the same pinned steps as `make`.
#
#   docker build -t spheron-dao-watcher .
#   docker run --env-file .env -p 9464:9464 -v watcher-data:/data spheron-dao-watcher \
#       --network ethereum:sepolia --status-port 9464
#
# Every setting comes from the environment (see .env.example). The bot's home is /data, the
# volume, so its default ledger (~/.spheron-dao-deploy/...) and Ape's data folder survive a new
# container whatever the env file says: an empty DEPLOYBOT_DB= keeps that default. The status
# server binds every interface of the container (--status-host 0.0.0.0) so -p 9464:9464 and a
# Prometheus in another container reach it.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install --yes --no-install-recommends make nodejs npm \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --home-dir /data --create-home --uid 10001 bot
WORKDIR /app
RUN chown bot:bot /app
USER bot

# Dependencies first, so that code changes do not reinstall them.
COPY --chown=bot:bot requirements.txt pyproject.toml package.json package-lock.json Makefile ape-config.yaml ./
COPY --chown=bot:bot tools ./tools
COPY --chown=bot:bot services ./services
COPY --chown=bot:bot contracts ./contracts
COPY --chown=bot:bot scripts ./scripts
COPY --chown=bot:bot examples ./examples
RUN make install

ENV PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"
ENTRYPOINT ["ape", "run", "watcher", "--status-host", "0.0.0.0"]
CMD ["--network", "ethereum:sepolia", "--status-port", "9464"]
