//! What the tests share: one builder of providers in this process ([`app::TestApp`]), the
//! provider as deployed ([`stack::Stack`]), one way to send requests ([`http`]), and a private
//! account on the emulator ([`emulator`]).

pub mod app;
pub mod emulator;
pub mod http;
pub mod stack;

use std::sync::Arc;
use std::time::{Duration, Instant};

use faas_ecs::model::FunctionId;
use faas_ecs::resolver::Resolver;
use faas_ecs::resolver::fixed::FixedResolver;

pub use self::app::TestApp;
pub use self::emulator::{Account, emulator_running, moto_url};
pub use self::http::{
    Answer, call, call_raw, deploy, fetch, raw_status, read, remove, scale, send, status, update,
};
pub use self::stack::{Stack, free_port};

/// The function most tests deploy.
pub fn echo() -> serde_json::Value {
    serde_json::json!({"service": "echo", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})
}

/// A function in a namespace, `name.namespace`, or in `openfaas-fn` for a bare name.
pub fn function_id(text: &str) -> FunctionId {
    let (name, namespace) = text.split_once('.').unwrap_or((text, "openfaas-fn"));
    FunctionId::parse(namespace, name).unwrap()
}

/// Waits until `condition` holds, looking every 20 ms; fails naming `what` after `within`.
pub async fn eventually(what: &str, within: Duration, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A resolver that finds no task: the emulator runs none.
pub fn no_endpoints() -> Arc<dyn Resolver> {
    Arc::new(FixedResolver::new(Default::default()))
}
