//! faas-ecs: configuration -> AWS clients -> backend -> state -> serve until SIGTERM.

use std::process::ExitCode;

use aws_config::retry::RetryConfig;
use clap::Parser;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use faas_ecs::auth::Credentials;
use std::sync::Arc;

use faas_ecs::backend::ecs::task_definition::WATCHDOG_PORT;
use faas_ecs::backend::ecs::{AwsClients, EcsBackend, EcsSettings};
use faas_ecs::config::Config;
use faas_ecs::error::DisplayChain;
use faas_ecs::proxy::Proxy;
use faas_ecs::resolver::Resolver;
use faas_ecs::resolver::cloudmap::{CloudMapResolver, discovery_client};
use faas_ecs::resolver::dns::{DnsResolver, RecordKind};
use faas_ecs::resolver::fixed::FixedResolver;
use faas_ecs::scaling::peers::Peers;
use faas_ecs::{AppState, server};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    // Levels by target (`info`, `faas_ecs=debug,info`): the full filter syntax would link a regex
    // engine for no use here.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| f.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(filter)
        .init();
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("faas-ecs: invalid configuration: {e}");
        return ExitCode::from(2);
    }
    // The control plane (AWS calls, the cache refresh) runs here; requests are served by
    // threads of their own (see `serve`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("faas-ecs: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %DisplayChain(e.as_ref()), "faas-ecs stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), BoxError> {
    let auth = if config.basic_auth {
        Some(Credentials::load(&config.secret_mount_path)?)
    } else {
        None
    };
    let sdk = faas_ecs::aws::loader()
        .retry_config(RetryConfig::standard().with_max_attempts(config.aws_max_attempts))
        .timeout_config(config.aws_timeouts())
        .load()
        .await;
    let region = sdk
        .region()
        .ok_or("no AWS region: set AWS_REGION")?
        .to_string();
    let settings = EcsSettings::from_config(&config, &region)?;
    tracing::info!(
        port = config.port,
        cluster = %config.cluster,
        region = %region,
        endpoint = sdk.endpoint_url().unwrap_or("default"),
        basic_auth = config.basic_auth,
        ?settings,
        scaling = ?config.scaling(),
        peers = ?config.peers.0,
        "starting faas-ecs"
    );

    let aws = AwsClients::new(&sdk);
    let domain = EcsBackend::dns_domain_of(&aws, &settings).await?;
    let resolver = resolver(&config, &sdk, &domain)?;
    let backend = EcsBackend::start(aws, settings, resolver.clone()).await?;
    let refresh = backend.spawn_refresh(config.refresh_interval);
    let state = AppState::new(
        backend,
        Proxy::new(resolver.clone(), config.write_timeout),
        auth,
    );
    let peers = Peers::new(
        config.peer_urls()?,
        state.auth.as_ref().and_then(|c| c.header()),
    );
    let state = state.with_scaling(config.scaling(), peers);
    let scaler = state.scaling.spawn();

    // Fails if the port is taken (SO_REUSEPORT alone would share it), and fixes port 0.
    let address = std::net::TcpListener::bind((config.bind_address, config.port))?.local_addr()?;
    let threads = match config.worker_threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let options = server::Options {
        read_timeout: config.read_timeout,
        grace: config.write_timeout,
        busy_poll: config.busy_poll,
        max_request_head: config.max_request_head as usize,
        connections: server::ConnectionLimit::new(config.max_connections as usize),
    };
    let mut workers = Vec::with_capacity(threads);
    for thread in 0..threads {
        // The first thread keeps the proxy made above; each thread has a connection pool of its own.
        let state = if thread == 0 {
            state.clone()
        } else {
            state.with_proxy(Proxy::new(resolver.clone(), config.write_timeout))
        };
        let (options, ready, mut stopped) = (options.clone(), ready_tx.clone(), stopped.clone());
        workers.push(std::thread::spawn(move || -> Result<(), std::io::Error> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = match listener(address) {
                    Ok(listener) => {
                        let _ = ready.send(Ok(()));
                        listener
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return Ok(());
                    }
                };
                let stop = async move {
                    let _ = stopped.changed().await;
                };
                server::serve(listener, state, options, stop).await
            })
        }));
    }
    for _ in 0..threads {
        ready_rx.recv().map_err(|e| e.to_string())??;
    }
    tracing::info!(%address, threads, dns_domain = %domain, "listening");
    shutdown_signal().await;
    let _ = stop.send(true);
    for worker in workers {
        if let Ok(Err(e)) = worker.join() {
            tracing::warn!(error = %e, "a serving thread stopped with an error");
        }
    }
    refresh.abort();
    scaler.abort();
    Ok(())
}

/// A listener of its own for each serving thread: the kernel spreads connections over them
/// (SO_REUSEPORT), and each connection is then served by one thread, without waking another.
fn listener(address: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

/// The resolver `FAAS_ECS_RESOLVER` names.
fn resolver(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    domain: &str,
) -> Result<Arc<dyn Resolver>, BoxError> {
    let port = WATCHDOG_PORT as u16;
    Ok(match config.resolver.as_str() {
        "cloudmap" => {
            let resolver = Arc::new(CloudMapResolver::new(discovery_client(sdk), domain, port));
            // Runs as long as the resolver lives.
            resolver.spawn_refresh(config.discovery_interval);
            resolver
        }
        "fixed" => Arc::new(FixedResolver::parse(&config.endpoints)?),
        _ => {
            let kind = if config.dns_records == "SRV" {
                RecordKind::Srv
            } else {
                RecordKind::A { port }
            };
            Arc::new(DnsResolver::new(domain, config.dns_server, kind)?)
        }
    })
}

/// SIGTERM (ECS stopping the task) or Ctrl-C: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
