//! An HTTP client for black-box tests: talks to the server exactly as a user's client would.

use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone)]
pub struct TestClient {
    pub base_url: String,
    http: reqwest::Client,
    auth_scheme: &'static str,
}

/// A response read to the end: status, headers and the body as text and JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl TestResponse {
    /// The body as JSON; panics with the body in the message if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

impl TestClient {
    pub fn new(port: u16) -> Self {
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A connection per request. A pooled one may be one the server is closing (its
                // keep-alive ran out while a slow request was handled, as on a loaded CI
                // machine), and a POST sent on it fails with a reset instead of being retried.
                .pool_max_idle_per_host(0)
                .build()
                .expect("build HTTP client"),
            auth_scheme: "Bearer",
        }
    }

    /// Sends tokens as `Authorization: <scheme> <token>` (RealWorld's is `Token`).
    pub fn with_auth_scheme(mut self, scheme: &'static str) -> Self {
        self.auth_scheme = scheme;
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request builder for anything the helpers below do not cover (custom headers, raw bodies).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("request reaches the server");
        TestResponse {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("read the body"),
        }
    }

    /// A JSON request, with `Authorization: Bearer <token>` (or the client's scheme) when a
    /// token is given.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.header("authorization", format!("{} {token}", self.auth_scheme));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.json(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.json(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.json(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.json(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.json(Method::DELETE, path, token, None).await
    }
}
