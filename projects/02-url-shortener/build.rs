//! Compiles `proto/shortener/v1/links.proto` into Rust (messages, the server trait, a
//! client) at build time. protox parses the proto in Rust, so nothing needs `protoc`
//! installed; the descriptor set is also kept, for gRPC server reflection (`grpcurl list`).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/shortener/v1/links.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("shortener_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        // One generated client for `url-shortener grpc` and the tests, one server.
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
