# switchyard: multi-stage build, minimal non-root runtime image.
#   docker build -t switchyard .
# The build needs no protoc (protox compiles proto/ in pure Rust).

FROM rust:1.95-bookworm AS build
WORKDIR /src
# The workspace: manifests, every crate, the proto files they compile, and
# the benchmark sources the manifest names (they are not built).
COPY Cargo.toml Cargo.lock ./
COPY proto proto
COPY crates crates
COPY src src
COPY benches benches
COPY examples examples
# The product only: without the `demo` feature the binary holds no
# Kubernetes API double, no simulated scheduler and no demo.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p switchyard --no-default-features \
    && cp target/release/switchyard /switchyard \
    && strip /switchyard

# distroless/cc: glibc and CA certificates, no shell, runs as nonroot (65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /switchyard /usr/local/bin/switchyard
USER 65532:65532
EXPOSE 9004 9100
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["run"]
