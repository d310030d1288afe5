//! A headless Chromium driven over WebDriver, for tests of the pages a capstone serves.
//!
//! Browser tests are `#[ignore]`d so `cargo test --workspace` passes on a machine without a
//! browser; CI installs `chromium` and `chromium-driver` and runs them with `--ignored`.
//! `CHROMEDRIVER` and `CHROME` override the binaries' paths.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::ClientBuilder;
use fantoccini::wd::Capabilities;
use hyper_util::client::legacy::connect::HttpConnector;

/// What tests drive the page with, so they need no dependency of their own.
pub use fantoccini::{Client, Locator, key::Key};

/// A ChromeDriver process and one browser session on it; both end when this is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a headless session (panics with the
    /// install command if the binaries are missing).
    pub async fn launch() -> Self {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = crate::free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{chromedriver}` ({e}): install it with \
                     `apt-get install chromium chromium-driver` or set CHROMEDRIVER"
                )
            });
        let browser = Self {
            client: connect(port).await,
            driver,
        };
        browser
            .client
            .set_window_size(1024, 768)
            .await
            .expect("size the window");
        browser
    }

    /// Ends the session cleanly; the driver process is killed on drop either way.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn capabilities() -> Capabilities {
    let mut options = serde_json::json!({
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    if let Ok(binary) = std::env::var("CHROME") {
        options["binary"] = binary.into();
    }
    let mut capabilities = Capabilities::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    capabilities
}

/// ChromeDriver takes a moment to listen; retry the session request for up to 10 s.
async fn connect(port: u16) -> Client {
    let url = format!("http://127.0.0.1:{port}");
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities());
    let mut last_error = None;
    for _ in 0..100 {
        match builder.connect(&url).await {
            Ok(client) => return client,
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no WebDriver session on {url}: {last_error:?}");
}
