//! What every handler shares.

use std::sync::Arc;

use crate::auth::Credentials;
use crate::backend::{Backend, FunctionBackend};
use crate::metrics::Metrics;
use crate::namespace_resolver::NamespaceResolver;
use crate::proxy::Proxy;
use crate::scaling::peers::Peers;
use crate::scaling::{Scaling, ScalingSettings};

#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<dyn Backend>,
    pub proxy: Arc<Proxy>,
    /// Basic auth credentials for /system/*, when basic auth is on.
    pub auth: Option<Arc<Credentials>>,
    pub metrics: Arc<Metrics>,
    /// Invocation counts, and scaling from and to zero and by load.
    pub scaling: Arc<Scaling>,
    /// Whether the API may create, update and delete namespaces.
    pub namespace_management: bool,
}

impl AppState {
    /// A provider scaling as `scaling` says, alone (see [`AppState::with_peers`]); its loop is
    /// started with [`Scaling::spawn`].
    pub fn new(
        backend: Arc<dyn Backend>,
        proxy: Proxy,
        auth: Option<Credentials>,
        scaling: ScalingSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        let scaling = Arc::new(Scaling::new(
            backend.clone() as Arc<dyn FunctionBackend>,
            &metrics,
            scaling,
            Peers::none(),
        ));
        Self {
            backend,
            proxy: Arc::new(proxy),
            auth: auth.map(Arc::new),
            metrics,
            scaling,
            namespace_management: true,
        }
    }

    /// Where requests learn their namespace.
    pub fn namespaces(&self) -> NamespaceResolver<'_> {
        NamespaceResolver::new(&*self.backend)
    }

    /// The same state with namespace changes allowed or refused (403).
    pub fn with_namespace_management(self, allowed: bool) -> Self {
        Self {
            namespace_management: allowed,
            ..self
        }
    }

    /// The same state scaling with the other provider replicas, by their summed load.
    pub fn with_peers(self, peers: Peers) -> Self {
        let scaling = Arc::new(Scaling::new(
            self.backend.clone() as Arc<dyn FunctionBackend>,
            &self.metrics,
            self.scaling.settings().clone(),
            peers,
        ));
        Self { scaling, ..self }
    }

    /// The same state with another proxy (one connection pool per serving thread).
    pub fn with_proxy(&self, proxy: Proxy) -> Self {
        Self {
            proxy: Arc::new(proxy),
            ..self.clone()
        }
    }
}
