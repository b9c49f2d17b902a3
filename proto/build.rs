//! Compiles `homecoming/v1/*.proto` with protox (pure Rust, no system `protoc`) and writes the
//! descriptor set that the server's reflection service hands to grpcurl.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "homecoming/v1/external_id.proto",
    "homecoming/v1/category.proto",
    "homecoming/v1/exchange.proto",
    "homecoming/v1/person.proto",
    "homecoming/v1/event.proto",
    "homecoming/v1/duplicate.proto",
    "homecoming/v1/figures.proto",
    "homecoming/v1/registry.proto",
    "homecoming/v1/watch.proto",
    "homecoming/v1/access.proto",
    "homecoming/v1/audit.proto",
    // Not used by the Rust code (tonic-types has these); compiled so that reflection can
    // describe error details to grpcurl.
    "google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=homecoming");
    println!("cargo:rerun-if-changed=google");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let fds = protox::compile(PROTOS, ["."])?;
    fs::write(
        out_dir.join("homecoming_descriptor.bin"),
        fds.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .emit_rerun_if_changed(false)
        .compile_fds(fds)?;
    Ok(())
}
