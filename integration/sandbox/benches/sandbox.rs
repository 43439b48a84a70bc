//! Benchmark placeholder until the sandbox benchmark lands.
fn main() {}
