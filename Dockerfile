# Multi-stage build: a static binary (no cgo) on a minimal base, run as a
# non-root user, with the config and the data directory as volumes.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party ./third_party
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/egressguard ./cmd/egressguard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/egressguard /usr/local/bin/egressguard
COPY config/egressguard.toml /etc/egressguard/egressguard.toml
# /etc/egressguard: config, TLS material, keys. /var/lib/egressguard: store
# and outbox; set data_dir = "/var/lib/egressguard" in the mounted config.
VOLUME ["/etc/egressguard", "/var/lib/egressguard"]
USER nonroot:nonroot
EXPOSE 587 9025
ENTRYPOINT ["/usr/local/bin/egressguard"]
CMD ["serve", "--config", "/etc/egressguard/egressguard.toml"]
