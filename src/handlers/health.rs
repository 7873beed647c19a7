//! GET and HEAD /healthz

pub async fn health() -> &'static str {
    "OK"
}
