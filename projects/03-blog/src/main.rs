//! `blog` starts the server; `blog migrate` only applies the migrations.
//! Both come from the kit's shared command line (`backend_kit::cli`).

fn main() -> std::process::ExitCode {
    backend_kit::cli::main::<blog::Application>()
}
