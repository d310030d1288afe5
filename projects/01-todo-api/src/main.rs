//! `todo-api` starts the server; `todo-api migrate` only applies the database migrations.
//! Both come from the kit's shared command line (`backend_kit::cli`).

fn main() -> std::process::ExitCode {
    backend_kit::cli::main::<todo_api::Application>()
}
