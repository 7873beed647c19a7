//! The one builder of providers in this process (as crates.io's `TestApp`): a backend (the
//! in-memory one unless given), where invocations go, and the server's settings; then a router
//! to call without a socket, or a server on one.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use faas_ecs::AppState;
use faas_ecs::auth::Credentials;
use faas_ecs::backend::Backend;
use faas_ecs::backend::memory::MemoryBackend;
use faas_ecs::proxy::Proxy;
use faas_ecs::resolver::Resolver;
use faas_ecs::resolver::fixed::FixedResolver;
use faas_ecs::server::{ConnectionLimit, Options};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::no_endpoints;

pub struct TestApp {
    backend: Arc<dyn Backend>,
    resolver: Arc<dyn Resolver>,
    write_timeout: Duration,
    auth: Option<Credentials>,
    namespace_management: bool,
    options: Options,
}

impl TestApp {
    /// A provider on the in-memory backend whose functions have no task.
    pub fn init() -> Self {
        Self::on(Arc::new(MemoryBackend::new()))
    }

    /// A provider on `backend`, whose functions have no task.
    pub fn on(backend: Arc<impl Backend>) -> Self {
        Self {
            backend,
            resolver: no_endpoints(),
            write_timeout: Duration::from_secs(10),
            auth: None,
            namespace_management: true,
            options: Options {
                read_timeout: Duration::from_secs(10),
                grace: Duration::from_secs(1),
                busy_poll: Duration::ZERO,
                max_request_head: 16384,
                connections: ConnectionLimit::new(1024),
            },
        }
    }

    /// Functions' tasks at fixed addresses.
    pub fn with_functions(mut self, table: &[(&str, Vec<SocketAddr>)]) -> Self {
        let table = table
            .iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect();
        self.resolver = Arc::new(FixedResolver::new(table));
        self
    }

    /// Longest wait for a function's answer.
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    pub fn with_auth(mut self, credentials: Credentials) -> Self {
        self.auth = Some(credentials);
        self
    }

    pub fn with_namespace_management(mut self, allowed: bool) -> Self {
        self.namespace_management = allowed;
        self
    }

    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.options.read_timeout = timeout;
        self
    }

    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.options.grace = grace;
        self
    }

    /// Serving threads poll this long before they sleep, as deployed (200 µs).
    pub fn with_busy_poll(mut self, window: Duration) -> Self {
        self.options.busy_poll = window;
        self
    }

    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.options.connections = ConnectionLimit::new(max);
        self
    }

    /// The server's connection limit, to watch how many places are taken.
    pub fn connections(&self) -> ConnectionLimit {
        self.options.connections.clone()
    }

    pub fn state(self) -> AppState {
        AppState::new(
            self.backend,
            Proxy::new(self.resolver, self.write_timeout),
            self.auth,
            faas_ecs::config::scaling::off(),
            Arc::new(faas_ecs::metrics::Metrics::new()),
        )
        .with_namespace_management(self.namespace_management)
    }

    /// The router of the `/system` API, called without a socket.
    pub fn router(self) -> Router {
        faas_ecs::router(self.state())
    }

    /// The server on a loopback socket, until the test ends.
    pub async fn serve(self) -> SocketAddr {
        self.serve_until(std::future::pending()).await.0
    }

    /// The server on a loopback socket until `stop` resolves; the task ends once it has stopped.
    pub async fn serve_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> (SocketAddr, JoinHandle<std::io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = self.options.clone();
        let server = tokio::spawn(faas_ecs::server::serve(
            listener,
            self.state(),
            options,
            stop,
        ));
        (addr, server)
    }
}
