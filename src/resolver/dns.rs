//! Cloud Map DNS: `<Cloud Map service>.<namespace domain>` answers with the A records (port 8080) or SRV
//! records (their own ports) of the function's healthy tasks. In a VPC the system resolver is the
//! Route 53 resolver, which serves Cloud Map's private zones.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::{AddressCache, Endpoints, Resolver, ResolverError};
use crate::model::FunctionId;
use crate::model::shared as names;

/// Which records a function's Cloud Map service has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    A { port: u16 },
    Srv,
}

pub struct DnsResolver {
    resolver: TokioResolver,
    /// `.openfaas.local.`: names are fully qualified, so no search domain is tried.
    suffix: String,
    kind: RecordKind,
    cache: AddressCache,
}

impl DnsResolver {
    /// `server`: a DNS server to ask instead of the system's (e.g. `127.0.0.1:5353`).
    pub fn new(
        domain: &str,
        server: Option<SocketAddr>,
        kind: RecordKind,
    ) -> Result<Self, ResolverError> {
        let mut builder = match server {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], vec![ns]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio().map_err(|e| ResolverError::Dns(e.into()))?,
        };
        let options = builder.options_mut();
        // A task that goes away must leave the answers soon; one that arrives must show at once.
        options.negative_max_ttl = Some(Duration::from_secs(1));
        options.timeout = Duration::from_secs(2);
        options.attempts = 2;
        let resolver = builder.build().map_err(|e| ResolverError::Dns(e.into()))?;
        Ok(Self {
            resolver,
            suffix: format!(".{}.", domain.trim_end_matches('.')),
            kind,
            cache: AddressCache::default(),
        })
    }

    async fn lookup(
        &self,
        fqdn: &str,
    ) -> Result<(Endpoints, Instant), hickory_resolver::net::NetError> {
        match self.kind {
            RecordKind::A { port } => {
                let answer = self.resolver.lookup_ip(fqdn).await?;
                let addrs = answer.iter().map(|ip| SocketAddr::new(ip, port)).collect();
                Ok((Endpoints::new(addrs), answer.valid_until()))
            }
            RecordKind::Srv => {
                let answer = self.resolver.lookup(fqdn, RecordType::SRV).await?;
                let mut until = answer.valid_until();
                let mut addrs = Vec::new();
                for record in answer.answers() {
                    let RData::SRV(srv) = &record.data else {
                        continue;
                    };
                    // Cloud Map puts the targets' A records beside the SRV answer; ask when not.
                    let ips: Vec<IpAddr> = match answer
                        .additionals()
                        .iter()
                        .filter(|r| r.name == srv.target)
                        .filter_map(|r| match &r.data {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                    {
                        found if !found.is_empty() => found,
                        _ => {
                            let target = self.resolver.lookup_ip(srv.target.clone()).await?;
                            until = until.min(target.valid_until());
                            target.iter().collect()
                        }
                    };
                    addrs.extend(ips.into_iter().map(|ip| SocketAddr::new(ip, srv.port)));
                }
                Ok((Endpoints::new(addrs), until))
            }
        }
    }
}

#[async_trait]
impl Resolver for DnsResolver {
    fn retire(&self, id: &FunctionId, addrs: Vec<IpAddr>) {
        self.cache.retire(&names::cloudmap_service(id), addrs);
    }

    async fn resolve(&self, id: &FunctionId) -> Endpoints {
        let name = names::cloudmap_service(id);
        if let Some(hit) = self.cache.get(&name) {
            return hit;
        }
        let fqdn = format!("{name}{}", self.suffix);
        let (endpoints, until) = match self.lookup(&fqdn).await {
            Ok(found) => found,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                (Endpoints::default(), Instant::now())
            }
            Err(e) => {
                tracing::warn!(function.name = %id.name, function.namespace = %id.namespace, dns.name = %fqdn, error = %e, "DNS lookup failed");
                (Endpoints::default(), Instant::now())
            }
        };
        self.cache.put(&name, endpoints, until)
    }
}
