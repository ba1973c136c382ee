//! The `soundscribe` binary: all work happens in the library's `cli` module.

fn main() -> std::process::ExitCode {
    soundscribe::cli::main()
}
