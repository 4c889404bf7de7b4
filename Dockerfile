# Convene's image: slim, runs as an unprivileged user, healthy when the gRPC health service says SERVING.
#
#   docker build -t convene .                                  # ICS calendars only (a lean install)
#   docker build -t convene --build-arg EXTRAS=google,microsoft .
#   docker run -v ./deploy:/etc/convene:ro -p 50051:50051 -p 9464:9464 convene
#
# The config is /etc/convene/convene.yaml (mount it, its TLS files and calendars; see compose.yaml
# and docs/deploy.md). CONVENE_HEALTH_ARGS tells the health check how to reach the port: the
# default suits plaintext; with TLS give e.g. "--ca /etc/convene/tls/ca.pem --server-name convene".

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY solver solver
COPY providers providers
COPY server server
COPY convene convene
ARG EXTRAS=""
RUN pip wheel --no-cache-dir -c constraints.txt --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /srv/convene convene
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /srv/convene
ENV PYTHONUNBUFFERED=1 CONVENE_HEALTH_ARGS=""
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD convene health --target 127.0.0.1:50051 $CONVENE_HEALTH_ARGS
ENTRYPOINT ["convene"]
CMD ["serve", "--config", "/etc/convene/convene.yaml"]
