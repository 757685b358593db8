# egressguard container image.
#
#   docker build -t egressguard .
#   docker run -d --name egressguard --stop-timeout 40 \
#       -v egressguard-data:/var/lib/egressguard \
#       -v /etc/egressguard-tls:/etc/egressguard/tls:ro \
#       -v "$PWD/egressguard.toml:/etc/egressguard/egressguard.toml:ro" \
#       -p 587:587 -p 465:465 -p 8025:8025 -p 127.0.0.1:9025:9025 egressguard
#   docker exec -it egressguard egressguard user add admin \
#       --role admin --role officer --address admin@example.jp
#
# The shipped config (config/container.toml) creates no accounts: the last
# command creates the first admin. docs/deployment.md has the rest.

# Build stage: a static binary (no cgo), checked against the shipped config.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party ./third_party
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/egressguard ./cmd/egressguard
# The shipped config must pass `config check`. It names TLS files that are
# mounted at run time; a throw-away certificate stands in for them here and
# does not reach the image.
RUN mkdir -p /tmp/check/tls \
 && cp config/container.toml /tmp/check/egressguard.toml \
 && cd /tmp/check/tls \
 && go run "$(go env GOROOT)/src/crypto/tls/generate_cert.go" --host egressguard.invalid \
 && mv cert.pem fullchain.pem && mv key.pem privkey.pem \
 && /out/egressguard config check --config /tmp/check/egressguard.toml \
 && rm -rf /tmp/check
# The data volume belongs to the image's user (distroless nonroot, 65532).
RUN install -d -o 65532 -g 65532 -m 0700 /out/var/lib/egressguard

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="egressguard" \
      org.opencontainers.image.description="Outbound mail guard: holds risky outgoing mail (share links to unknown recipients) until a second person approves it" \
      org.opencontainers.image.documentation="https://github.com/egressguard/egressguard/blob/main/docs/deployment.md" \
      io.egressguard.first-admin="docker exec -it CONTAINER egressguard user add admin --role admin --role officer --address admin@YOUR-DOMAIN" \
      io.egressguard.tls="mount fullchain.pem and privkey.pem at /etc/egressguard/tls (read-only)" \
      io.egressguard.config="/etc/egressguard/egressguard.toml (config/container.toml); mount your own copy over it"
COPY --from=build /out/egressguard /usr/local/bin/egressguard
COPY config/container.toml /etc/egressguard/egressguard.toml
COPY --from=build --chown=65532:65532 /out/var/lib/egressguard /var/lib/egressguard
# Every command (serve, user, allow, audit, ...) reads this config.
ENV EGRESSGUARD_CONFIG=/etc/egressguard/egressguard.toml
VOLUME ["/var/lib/egressguard"]
USER 65532:65532
# 587 submission (STARTTLS), 465 submission (implicit TLS), 8025 console
# and API (HTTPS), 9025 metrics and health (keep it internal).
EXPOSE 587 465 8025 9025
ENTRYPOINT ["/usr/local/bin/egressguard"]
CMD ["serve"]
