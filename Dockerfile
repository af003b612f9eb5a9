# micro in a container: one image for the registry and for service processes.
#
#   docker build -t micro .
#   docker run micro                                  # twistd -n micro-registry
#   docker run micro micro-service --module shop      # the example shop's services
#
# twistd runs as PID 1 with nothing in between (exec form), so SIGTERM from
# `docker stop` or Kubernetes reaches it and a service process unregisters,
# waits for callers to drop it and drains before it exits; give it the time
# (settle 2 s + drain 10 s): `docker stop -t 20`, Compose's stop_grace_period,
# Kubernetes' terminationGracePeriodSeconds.

FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MICRO_HEALTH_URL=http://127.0.0.1:9999/_micro/live
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 micro \
    && useradd --system --uid 10001 --gid micro --home-dir /app --no-create-home micro
WORKDIR /app
COPY --chown=10001:10001 examples/multi_process/shop.py examples/multi_process/client.py ./
USER 10001:10001
EXPOSE 9999 8080
# The process's own liveness probe: the registry's (port 9999) by default; a
# service process sets MICRO_HEALTH_URL to its first instance's port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['MICRO_HEALTH_URL'], timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["twistd", "-n"]
CMD ["micro-registry", "--listen", "tcp:9999"]
