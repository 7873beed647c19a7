//! faas-ecs: configuration -> the app (`app::App::build`) -> serving threads until SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use faas_ecs::app::{App, BoxError};
use faas_ecs::config::Config;
use faas_ecs::failure::DisplayChain;
use faas_ecs::server;

// glibc's malloc kept a burst's memory for good (83 MiB after 2,000 held requests, idle at 13);
// jemalloc's background thread gives freed pages back to the kernel within about a second (its
// settings: .cargo/config.toml; BENCHMARKS.md, "A burst from zero").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    let sdk = config.aws.loader().load().await;
    // Fails if the port is taken (SO_REUSEPORT alone would share it), and fixes port 0.
    let address = std::net::TcpListener::bind((config.server.bind_address, config.server.port))?
        .local_addr()?;
    let threads = match config.server.worker_threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    faas_ecs::io::set_reads(
        config.server.read_size as usize,
        config.server.read_budget as usize,
    );
    let app = App::build(config, &sdk).await?;
    let connections = app.connection_limit();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut workers = Vec::with_capacity(threads);
    for thread in 0..threads {
        // The first thread keeps the app's proxy; each thread has a connection pool of its own.
        let state = if thread == 0 {
            app.state.clone()
        } else {
            app.state_for_thread()
        };
        let options = app.server_options(connections.clone());
        let (ready, mut stopped) = (ready_tx.clone(), stopped.clone());
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
    tracing::info!(%address, threads, dns_domain = %app.domain, "listening");
    shutdown_signal().await;
    let _ = stop.send(true);
    for worker in workers {
        if let Ok(Err(e)) = worker.join() {
            tracing::warn!(error = %e, "a serving thread stopped with an error");
        }
    }
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
    // Room for a burst of connections past the limit (the kernel caps it at somaxconn).
    socket.listen(4096)
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
