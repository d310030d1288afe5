//! `<app> jobs` and `<app> jobs retry ID`: what the outbox holds, from the command line (an
//! operator's view, no HTTP endpoint to secure).

use std::fmt::Write as _;

use super::Outbox;
use crate::cli::BoxError;

/// `jobs`'s own subcommand (none: list).
#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// Queue a failed mail job again
    Retry {
        /// The job's id, from `jobs`
        id: i64,
    },
}

/// Runs `jobs [retry ID]` against `outbox` and returns what to print.
pub async fn run(outbox: &Outbox, command: Option<JobsCommand>) -> Result<String, BoxError> {
    match command {
        None => list(outbox).await,
        Some(JobsCommand::Retry { id }) => {
            if outbox.retry(id).await? {
                Ok(format!("job {id} queued again\n"))
            } else {
                Err(format!("no failed or queued job {id}").into())
            }
        }
    }
}

async fn list(outbox: &Outbox) -> Result<String, BoxError> {
    let rows = outbox.pending().await?;
    let counts = outbox.counts().await?;
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no queued, running or failed mail jobs\n");
    } else {
        writeln!(
            out,
            "{:>6}  {:<8}  {:>8}  {:<27}  {:<30}  {:<30}  LAST ERROR",
            "ID", "STATUS", "ATTEMPTS", "NEXT ATTEMPT / UPDATED", "TO", "SUBJECT"
        )?;
        for row in rows {
            let status = match row.status.as_str() {
                super::outbox::SENDING => "running",
                other => other,
            };
            let when = match status {
                "queued" => row.next_attempt_at,
                _ => row.updated_at,
            };
            writeln!(
                out,
                "{:>6}  {:<8}  {:>8}  {:<27}  {:<30}  {:<30}  {}",
                row.id,
                status,
                row.attempts,
                crate::time::format(&when),
                clip(&row.recipient, 30),
                clip(&row.subject, 30),
                row.last_error.as_deref().unwrap_or("-"),
            )?;
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(status, n)| {
            let status = if status == super::outbox::SENDING {
                "running"
            } else {
                status
            };
            format!("{n} {status}")
        })
        .collect();
    if !summary.is_empty() {
        writeln!(out, "mail jobs: {}", summary.join(", "))?;
    }
    writeln!(out, "mail goes to: {}", outbox.mailer().destination())?;
    Ok(out)
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut clipped: String = s.chars().take(width - 1).collect();
        clipped.push('…');
        clipped
    }
}
