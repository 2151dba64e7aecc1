//! Compiles `proto/` into Rust with a pure-Rust protobuf compiler (protox),
//! so a fresh machine needs no `protoc`. The encoded descriptor set is kept
//! in OUT_DIR too: `proto::json` uses it to print messages as proto3 JSON.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "../../proto/mlops/scheduler/scheduler.proto",
    "../../proto/mlops/chainer/chainer.proto",
    "../../proto/mlops/health/health.proto",
    "../../proto/switchyard/v1/gateway.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let fds = protox::compile(PROTOS, ["../../proto"])?;

    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out.join("descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    let mut config = prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .build_server(env::var_os("CARGO_FEATURE_SERVER").is_some())
        // Clients are built on any `tonic` channel; the pool makes its own.
        .build_transport(false)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
