//! A fixed table of function addresses (`FAAS_ECS_ENDPOINTS`), for benchmarks and for running
//! the provider in front of functions that are not on ECS. Keys are Cloud Map service names:
//! `echo` for `openfaas-fn`, `echo.team-a` for another namespace.

use std::collections::HashMap;
use std::net::SocketAddr;

use async_trait::async_trait;

use super::{Endpoints, Resolver, ResolverError};
use crate::model::FunctionId;
use crate::model::shared as names;

pub struct FixedResolver {
    table: HashMap<String, Endpoints>,
}

impl FixedResolver {
    pub fn new(table: HashMap<String, Vec<SocketAddr>>) -> Self {
        Self {
            table: table
                .into_iter()
                .map(|(k, v)| (k, Endpoints::new(v)))
                .collect(),
        }
    }

    /// Parses `name=host:port|host:port,name2=host:port`.
    pub fn parse(spec: &str) -> Result<Self, ResolverError> {
        let mut table: HashMap<String, Vec<SocketAddr>> = HashMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, addrs) = entry
                .split_once('=')
                .ok_or_else(|| ResolverError::Table(format!("{entry:?} is not name=host:port")))?;
            for addr in addrs.split('|') {
                let addr = addr
                    .trim()
                    .parse()
                    .map_err(|e| ResolverError::Table(format!("{addr:?} in {entry:?}: {e}")))?;
                table.entry(name.trim().to_string()).or_default().push(addr);
            }
        }
        Ok(Self::new(table))
    }
}

#[async_trait]
impl Resolver for FixedResolver {
    async fn resolve(&self, id: &FunctionId) -> Endpoints {
        self.table
            .get(names::cloudmap_service(id).as_ref())
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn table_is_parsed() {
        let id = |ns: &str, name: &str| FunctionId::parse(ns, name).unwrap();
        let r = FixedResolver::parse("a=127.0.0.1:1|127.0.0.2:1, b.team-a=127.0.0.3:8080").unwrap();
        assert_eq!(r.resolve(&id("openfaas-fn", "a")).await.len(), 2);
        assert_eq!(r.resolve(&id("openfaas-fn", "c")).await.len(), 0);
        assert_eq!(r.resolve(&id("team-a", "b")).await.len(), 1);
        assert_eq!(r.resolve(&id("openfaas-fn", "b")).await.len(), 0);
        assert!(FixedResolver::parse("a").is_err());
        assert!(FixedResolver::parse("a=nothost").is_err());
    }
}
