//! The Cloud Map API (DiscoverInstances, healthy instances only): for HTTP namespaces, or a
//! provider outside the functions' VPC. Answers are kept in memory and refreshed in the background,
//! so only the first invocation of a function waits for AWS.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_servicediscovery::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_servicediscovery::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_servicediscovery::types::HealthStatusFilter;
use aws_smithy_runtime_api::client::endpoint::EndpointPrefix;

use super::{AddressCache, Endpoints, Resolver};
use crate::failure::DisplayChain;
use crate::model::FunctionId;
use crate::model::shared as names;

/// How long an answer is served without a successful refresh.
const STALE_AFTER: Duration = Duration::from_secs(30);

pub struct CloudMapResolver {
    sd: aws_sdk_servicediscovery::Client,
    namespace: String,
    default_port: u16,
    cache: AddressCache,
}

/// DiscoverInstances goes to `data-<endpoint>`; an emulator at a custom endpoint has no such
/// host, so there the prefix is dropped. Real AWS keeps it.
#[derive(Debug)]
struct NoEndpointPrefix;

impl Intercept for NoEndpointPrefix {
    fn name(&self) -> &'static str {
        "NoEndpointPrefix"
    }

    fn modify_before_retry_loop(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_servicediscovery::error::BoxError> {
        cfg.interceptor_state().unset::<EndpointPrefix>();
        Ok(())
    }
}

/// A Cloud Map client for discovery: with a custom endpoint (an emulator) the `data-` host
/// prefix is left out.
pub fn discovery_client(
    sdk: &aws_config::SdkConfig,
    calls: &crate::aws::CountCalls,
) -> aws_sdk_servicediscovery::Client {
    let mut config =
        aws_sdk_servicediscovery::config::Builder::from(sdk).interceptor(calls.clone());
    if sdk.endpoint_url().is_some() {
        config = config.interceptor(NoEndpointPrefix);
    }
    aws_sdk_servicediscovery::Client::from_conf(config.build())
}

impl CloudMapResolver {
    /// `namespace`: the Cloud Map namespace's name; `default_port` for instances without
    /// `AWS_INSTANCE_PORT`.
    pub fn new(sd: aws_sdk_servicediscovery::Client, namespace: &str, default_port: u16) -> Self {
        Self {
            sd,
            namespace: namespace.to_string(),
            default_port,
            cache: AddressCache::default(),
        }
    }

    async fn discover(&self, name: &str) -> Result<Endpoints, aws_sdk_servicediscovery::Error> {
        let out = self
            .sd
            .discover_instances()
            .namespace_name(&self.namespace)
            .service_name(name)
            .health_status(HealthStatusFilter::Healthy)
            .send()
            .await?;
        let addrs = out
            .instances()
            .iter()
            .filter_map(|i| {
                let attrs = i.attributes()?;
                let ip: IpAddr = attrs.get("AWS_INSTANCE_IPV4")?.parse().ok()?;
                let port = attrs
                    .get("AWS_INSTANCE_PORT")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(self.default_port);
                Some(SocketAddr::new(ip, port))
            })
            .collect();
        Ok(Endpoints::new(addrs))
    }

    async fn refresh(&self, name: &str) -> Endpoints {
        match self.discover(name).await {
            Ok(endpoints) => self
                .cache
                .put(name, endpoints, Instant::now() + STALE_AFTER),
            Err(e) => {
                tracing::warn!(function.name = name, error = %DisplayChain(&e), "DiscoverInstances failed");
                Endpoints::default()
            }
        }
    }

    /// Refreshes every function asked for, every `interval`, until the resolver is dropped.
    pub fn spawn_refresh(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let resolver = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(resolver) = resolver.upgrade() else {
                    return;
                };
                resolver.cache.prune(Instant::now() - STALE_AFTER);
                for name in resolver.cache.names() {
                    resolver.refresh(&name).await;
                }
            }
        })
    }
}

#[async_trait]
impl Resolver for CloudMapResolver {
    fn retire(&self, id: &FunctionId, addrs: Vec<IpAddr>) {
        self.cache.retire(&names::cloudmap_service(id), addrs);
    }

    async fn resolve(&self, id: &FunctionId) -> Endpoints {
        let name = names::cloudmap_service(id);
        match self.cache.get(&name) {
            Some(hit) => hit,
            None => self.refresh(&name).await,
        }
    }
}
