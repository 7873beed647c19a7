//! faas-ecs: configuration -> AWS clients -> backend -> state -> serve until SIGTERM.

use std::process::ExitCode;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use faas_ecs::auth::Credentials;
use faas_ecs::backend::ecs::{AwsClients, EcsBackend, EcsSettings};
use faas_ecs::config::Config;
use faas_ecs::error::DisplayChain;
use faas_ecs::{AppState, router};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("faas-ecs: invalid configuration: {e}");
        return ExitCode::from(2);
    }
    match run(config).await {
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
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(config.aws_max_attempts))
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
        "starting faas-ecs"
    );

    let backend = EcsBackend::start(AwsClients::new(&sdk), settings).await?;
    let refresh = backend.spawn_refresh(config.refresh_interval);
    let state = AppState::new(backend, auth);

    let listener = tokio::net::TcpListener::bind((config.bind_address, config.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    refresh.abort();
    Ok(())
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
