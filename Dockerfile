# switchyard: multi-stage build, minimal non-root runtime image.
#   docker build -t switchyard .
# The build needs no protoc (protox compiles proto/ in pure Rust).

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
# Cargo.toml names the benchmarks, so their sources must be there to read
# the manifest (they are not built).
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src src
COPY examples examples
RUN touch src/main.rs src/lib.rs && cargo build --release --locked \
    && strip target/release/switchyard

# distroless/cc: glibc and CA certificates, no shell, runs as nonroot (65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/switchyard /usr/local/bin/switchyard
USER 65532:65532
EXPOSE 9004 9100
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["run"]
