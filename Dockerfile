# aperture in a container: a static binary on a distroless base, run as
# a non-root user, with its data in the /data volume.
#
#   docker build -t aperture .
#   docker run -p 8080:8080 -v aperture-data:/data aperture
#
# The binary is on the PATH, so that `docker exec NAME aperture backup …`
# (and `docker compose exec node1 aperture cluster status` with
# deploy/cluster/compose.yaml, which builds this file) works in an image
# without a shell.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/aperture ./cmd/aperture \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aperture /usr/local/bin/aperture
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV APERTURE_ADDR=0.0.0.0:8080 APERTURE_DATA=/data
VOLUME /data
# 8080: HTTP; 7422: a cluster's routes (only between its nodes)
EXPOSE 8080 7422
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["aperture", "health", "--addr", "127.0.0.1:8080"]
ENTRYPOINT ["aperture"]
CMD ["serve"]
