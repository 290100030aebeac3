# userd in a container: a static binary (pure-Go SQLite, no cgo) on
# distroless, as a non-root user, its data folder a volume.
#   docker build -t userd .
#   docker run -p 8080:8080 -v userd-data:/data userd
# The master key is created in /data on first start (USERD_MASTER_KEY or
# --master-key-file may hold it instead): back it up apart from the data.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/userd ./cmd/userd \
	&& mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/userd /userd
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV USERD_ADDR=0.0.0.0:8080 USERD_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/userd", "healthcheck"]
ENTRYPOINT ["/userd"]
CMD ["serve"]
