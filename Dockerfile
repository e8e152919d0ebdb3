# llmw as a small static binary in an empty image, for the Kubernetes example (deploy/k8s).
#
#   docker build -t registry.example.com/llmw:0.1.0 .
#   docker run --rm registry.example.com/llmw:0.1.0 --version
#
# Alpine's Rust targets musl, so the binary is statically linked and its DNS resolver reads
# /etc/resolv.conf itself (a static glibc binary would need glibc's NSS libraries at run time to
# resolve a cluster's service names). TLS roots are compiled in (webpki-roots): the image needs
# no certificate bundle.
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin llmw \
 && strip target/release/llmw

FROM scratch
COPY --from=build /src/target/release/llmw /llmw
# Not root; the Job runs it as 65532 too.
USER 65532:65532
ENTRYPOINT ["/llmw"]
