//! The `soundscribe` binary: argument parsing and one file per subcommand in [`cli`]; the
//! work happens in the `soundscribe`, `soundscribe-offline` and `soundscribe-metrics` crates.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
