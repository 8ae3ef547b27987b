//! The `cutover` binary: everything lives in the library and in `cli`.

mod cli;

/// mimalloc for the whole binary: see its line in Cargo.toml.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
