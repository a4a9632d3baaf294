//! `rollcall`: the command-line face of the core library. The commands live in `src/cli/`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
