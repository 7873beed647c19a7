//! What every handler shares.

use std::sync::Arc;

use crate::auth::Credentials;
use crate::backend::FunctionBackend;
use crate::metrics::Metrics;
use crate::proxy::Proxy;

#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<dyn FunctionBackend>,
    pub proxy: Arc<Proxy>,
    /// Basic auth credentials for /system/*, when basic auth is on.
    pub auth: Option<Arc<Credentials>>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(backend: Arc<dyn FunctionBackend>, proxy: Proxy, auth: Option<Credentials>) -> Self {
        Self {
            backend,
            proxy: Arc::new(proxy),
            auth: auth.map(Arc::new),
            metrics: Arc::new(Metrics::new()),
        }
    }
}
