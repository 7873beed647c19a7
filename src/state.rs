//! What every handler shares.

use std::sync::Arc;

use crate::auth::Credentials;
use crate::backend::{FunctionBackend, LogSource, SecretStore};
use crate::metrics::Metrics;
use crate::proxy::Proxy;

#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<dyn FunctionBackend>,
    pub secrets: Arc<dyn SecretStore>,
    pub logs: Arc<dyn LogSource>,
    pub proxy: Arc<Proxy>,
    /// Basic auth credentials for /system/*, when basic auth is on.
    pub auth: Option<Arc<Credentials>>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// One backend serves functions, secrets and logs.
    pub fn new<B>(backend: Arc<B>, proxy: Proxy, auth: Option<Credentials>) -> Self
    where
        B: FunctionBackend + SecretStore + LogSource,
    {
        Self {
            backend: backend.clone(),
            secrets: backend.clone(),
            logs: backend,
            proxy: Arc::new(proxy),
            auth: auth.map(Arc::new),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// The same state with another proxy (one connection pool per serving thread).
    pub fn with_proxy(&self, proxy: Proxy) -> Self {
        Self {
            proxy: Arc::new(proxy),
            ..self.clone()
        }
    }
}
