//! Background work, run by apalis workers (see `backend_kit::jobs`):
//!
//! - [`import`] — `POST /shorten/import` queues an [`import::ImportCsv`] job; a worker turns
//!   the CSV into links in batches, saving progress with each, so a job interrupted by a crash
//!   or deploy resumes where it stopped.
//! - [`maintenance`] — on a cron schedule: roll raw visits up into daily counts, mark links
//!   that expired and evict them from the cache.

pub mod import;
pub mod maintenance;
