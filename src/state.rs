//! What every handler shares.

use std::sync::Arc;

use crate::auth::Credentials;
use crate::backend::FunctionBackend;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<dyn FunctionBackend>,
    /// Basic auth credentials for /system/*, when basic auth is on.
    pub auth: Option<Arc<Credentials>>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(backend: Arc<dyn FunctionBackend>, auth: Option<Credentials>) -> Self {
        Self {
            backend,
            auth: auth.map(Arc::new),
            metrics: Arc::new(Metrics::new()),
        }
    }
}
