//! How a function name becomes the addresses of its ready tasks: Cloud Map DNS (the default),
//! the Cloud Map API, or a fixed table. Answers are cached for their TTL, so an invocation
//! normally costs one map lookup here.

mod cache;
pub mod cloudmap;
pub mod dns;
pub mod fixed;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::http::uri::Authority;

use crate::model::FunctionName;

pub use cache::AddressCache;

/// The addresses of a function's ready tasks at one moment; empty when none is ready. Each
/// address is also kept as a URI authority, formatted once per answer instead of per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    addrs: Arc<[SocketAddr]>,
    authorities: Arc<[Authority]>,
}

impl Endpoints {
    pub fn new(addrs: Vec<SocketAddr>) -> Self {
        let authorities = addrs
            .iter()
            .map(|a| Authority::try_from(a.to_string()).expect("a socket address is an authority"))
            .collect();
        Self {
            addrs: addrs.into(),
            authorities,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn as_slice(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The addresses in the order to try them, starting at a rotating offset so that
    /// requests spread across the tasks.
    pub fn rotation(&self) -> impl Iterator<Item = (SocketAddr, &Authority)> + '_ {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = self.addrs.len();
        let start = if n == 0 {
            0
        } else {
            NEXT.fetch_add(1, Ordering::Relaxed) % n
        };
        (start..n)
            .chain(0..start)
            .map(|i| (self.addrs[i], &self.authorities[i]))
    }
}

/// Finds the tasks of a function. Implementations never fail: a lookup that fails is logged and
/// answers no endpoints, which the proxy turns into a 503.
#[async_trait]
pub trait Resolver: Send + Sync + 'static {
    async fn resolve(&self, name: &FunctionName) -> Endpoints;

    /// Stops sending the function's requests to these task addresses (tasks of a replaced
    /// revision that are still registered), until they leave the answers.
    fn retire(&self, _name: &FunctionName, _addrs: Vec<IpAddr>) {}
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
        assert_eq!(first[0].1.as_str(), first[0].0.to_string());
        assert!(Endpoints::default().rotation().next().is_none());
    }
}
