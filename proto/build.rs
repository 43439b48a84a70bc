//! Generates the gRPC and message code from `proto/` with a vendored `protoc`, so a build
//! needs nothing installed beyond the Rust toolchain.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let files = [
        "proto/flotilla/v1/bundle.proto",
        "proto/flotilla/v1/agent.proto",
        "proto/flotilla/v1/admin.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    tonic_prost_build::configure().compile_protos(&files, &["proto"])?;
    Ok(())
}
