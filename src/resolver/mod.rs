//! How a function name becomes the addresses of its ready tasks: Cloud Map DNS (the default),
//! the Cloud Map API, or a fixed table. Answers are cached for their TTL, so an invocation
//! normally costs one map lookup here.

mod answers;
pub mod discovery;
pub mod dns;
pub mod fixed;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::http::HeaderValue;

use crate::model::FunctionId;

pub use answers::AddressCache;

/// A resolver that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    #[error("DNS resolver")]
    Dns(#[source] crate::failure::BoxError),
    /// FAAS_ECS_ENDPOINTS does not parse.
    #[error("{0}")]
    Table(String),
}

/// The addresses of a function's ready tasks at one moment; empty when none is ready.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints(Arc<[Endpoint]>);

/// A task's address, also as the Host header a request to it carries, made once per answer
/// instead of once per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub host: HeaderValue,
}

impl Endpoints {
    pub fn new(addrs: Vec<SocketAddr>) -> Self {
        Self(
            addrs
                .into_iter()
                .map(|addr| {
                    let host = HeaderValue::try_from(addr.to_string())
                        .expect("an address is a header value");
                    Endpoint { addr, host }
                })
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.0.iter().map(|e| e.addr)
    }

    /// The endpoints whose address `keep` accepts, as they are (nothing formatted again).
    pub fn filter(&self, keep: impl Fn(SocketAddr) -> bool) -> Self {
        Self(self.0.iter().filter(|e| keep(e.addr)).cloned().collect())
    }

    /// The endpoints in the order to try them, starting at a rotating offset so that
    /// requests spread across the tasks.
    pub fn rotation(&self) -> impl Iterator<Item = &Endpoint> + '_ {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let start = if self.0.is_empty() {
            0
        } else {
            NEXT.fetch_add(1, Ordering::Relaxed) % self.0.len()
        };
        self.0[start..].iter().chain(&self.0[..start])
    }
}

/// Finds the tasks of a function, by its Cloud Map service name
/// ([`crate::model::shared::cloudmap_service`]). Implementations never fail: a lookup that
/// fails is logged and answers no endpoints, which the proxy turns into a 503.
#[async_trait]
pub trait Resolver: Send + Sync + 'static {
    async fn resolve(&self, id: &FunctionId) -> Endpoints;

    /// Stops sending the function's requests to these task addresses (tasks of a replaced
    /// revision that are still registered), until they leave the answers.
    fn retire(&self, _id: &FunctionId, _addrs: Vec<IpAddr>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_visits_every_address_once_from_a_moving_start() {
        let e = Endpoints::new(vec![
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        ]);
        let first: Vec<_> = e.rotation().collect();
        let second: Vec<_> = e.rotation().collect();
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], first[1]);
        assert_ne!(first[0], second[0]);
        assert_eq!(first[0].host, first[0].addr.to_string());
        assert!(Endpoints::default().rotation().next().is_none());
    }
}
