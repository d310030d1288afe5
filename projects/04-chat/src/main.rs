//! `chat` / `chat start [--port N]` serves; `chat migrate`, `chat connect`, `chat load` and
//! `chat jobs` are the other commands (`backend_kit::cli` runs them).

fn main() -> std::process::ExitCode {
    backend_kit::cli::main::<chat::Application>()
}
