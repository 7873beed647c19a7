//! The provider assembled from its configuration: the one wiring that `main` and the end-to-end
//! tests share. `main` adds only the threads and the signals.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::auth::Credentials;
use crate::backend::ecs::{AwsClients, EcsBackend};
use crate::config::{Config, DnsRecords, ResolverKind};
use crate::metrics::Metrics;
use crate::model::shared::WATCHDOG_PORT;
use crate::proxy::Proxy;
use crate::resolver::Resolver;
use crate::resolver::discovery::{CloudMapResolver, discovery_client};
use crate::resolver::dns::{DnsResolver, RecordKind};
use crate::resolver::fixed::FixedResolver;
use crate::scaling::peers::Peers;
use crate::server::{ConnectionLimit, Options};
use crate::state::AppState;

pub use crate::failure::BoxError;

/// A running provider, short of its listeners: the background tasks (cache refresh, scaler)
/// stop when it is dropped.
pub struct App {
    pub state: AppState,
    /// The Cloud Map namespace's DNS name.
    pub domain: String,
    resolver: Arc<dyn Resolver>,
    config: Config,
    tasks: Vec<JoinHandle<()>>,
}

impl App {
    /// Reads the functions from ECS and starts the background tasks.
    pub async fn build(config: Config, sdk: &aws_config::SdkConfig) -> Result<Self, BoxError> {
        let auth = if config.server.basic_auth {
            Some(Credentials::load(&config.server.secret_mount_path)?)
        } else {
            None
        };
        let region = sdk
            .region()
            .ok_or("no AWS region: set AWS_REGION")?
            .to_string();
        let settings = config.ecs_settings(&region);
        tracing::info!(
            port = config.server.port,
            cluster = %config.functions.cluster,
            region = %region,
            endpoint = sdk.endpoint_url().unwrap_or("default"),
            basic_auth = config.server.basic_auth,
            ?settings,
            scaling = ?config.scaling.settings(),
            peers = ?config.scaling.peers.0,
            "starting faas-ecs"
        );
        let metrics = Arc::new(Metrics::new());
        let aws = AwsClients::new(sdk, &metrics.aws_calls);
        let domain = EcsBackend::dns_domain_of(&aws, &settings).await?;
        let (resolver, mut tasks) = resolver(&config, sdk, &domain, &metrics.aws_calls)?;
        let backend = EcsBackend::start(aws, settings, resolver.clone()).await?;
        tasks.push(backend.spawn_refresh(config.functions.refresh_interval));
        let peers = Peers::new(
            config.scaling.peers.0.clone(),
            auth.as_ref().and_then(|c| c.header()),
        );
        let state = AppState::new(
            backend,
            Proxy::new(resolver.clone(), config.server.write_timeout),
            auth,
            config.scaling.settings(),
            metrics,
        )
        .with_peers(peers)
        .with_namespace_management(config.functions.namespace_management);
        tasks.push(state.scaling.spawn());
        Ok(Self {
            state,
            domain,
            resolver,
            config,
            tasks,
        })
    }

    /// The state for one more serving thread: the same provider, with a connection pool of its own.
    pub fn state_for_thread(&self) -> AppState {
        self.state.with_proxy(Proxy::new(
            self.resolver.clone(),
            self.config.server.write_timeout,
        ))
    }

    /// How the server serves; `connections` is shared by every serving thread.
    pub fn server_options(&self, connections: ConnectionLimit) -> Options {
        self.config.server.options(connections)
    }

    pub fn connection_limit(&self) -> ConnectionLimit {
        self.config.server.connection_limit()
    }

    pub fn resolver(&self) -> &Arc<dyn Resolver> {
        &self.resolver
    }
}

impl Drop for App {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A resolver and the background tasks it needs.
type WithTasks = (Arc<dyn Resolver>, Vec<JoinHandle<()>>);

/// The resolver `FAAS_ECS_RESOLVER` names, and its refresh task if it has one.
fn resolver(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    domain: &str,
    calls: &crate::aws::CountCalls,
) -> Result<WithTasks, BoxError> {
    let port = WATCHDOG_PORT;
    let config = &config.resolver;
    Ok(match config.resolver {
        ResolverKind::Cloudmap => {
            let resolver = Arc::new(CloudMapResolver::new(
                discovery_client(sdk, calls),
                domain,
                port,
            ));
            let refresh = resolver.spawn_refresh(config.discovery_interval);
            (resolver, vec![refresh])
        }
        ResolverKind::Fixed => (Arc::new(FixedResolver::parse(&config.endpoints)?), vec![]),
        ResolverKind::Dns => {
            let kind = match config.dns_records {
                DnsRecords::Srv => RecordKind::Srv,
                DnsRecords::A => RecordKind::A { port },
            };
            let resolver = DnsResolver::new(domain, config.dns_server, kind)?;
            (Arc::new(resolver), vec![])
        }
    })
}
