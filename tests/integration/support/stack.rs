//! The provider as deployed, on a real socket, configured as scripts/dev configures it (the
//! settings scripts/test wrote), with the local task runtime running its functions: in this
//! process through `App::build`, or the faas-ecs binary itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::Parser;
use faas_ecs::app::App;
use faas_ecs::config::Config;
use faas_ecs::resolver::Resolver;
use serde_json::{Value, json};

use super::emulator::moto_url;
use super::http::{Answer, client, fetch};

/// A provider on a real socket, configured as scripts/dev configures it.
pub struct Stack {
    pub url: String,
    pub resolver: Option<Arc<dyn Resolver>>,
    /// The faas-ecs process and its captured log, when the stack runs the binary.
    process: Option<(std::process::Child, std::path::PathBuf)>,
    /// The provider in this process, when the stack runs it here: its background tasks live
    /// as long as it does.
    _app: Option<App>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The provider settings scripts/test wrote, as `(variable, value)`.
fn provider_env() -> Vec<(String, String)> {
    let settings = std::fs::read_to_string(env("E2E_PROVIDER_ENV")).unwrap();
    let mut vars: Vec<(String, String)> = settings
        .lines()
        .filter_map(|l| l.split_once('='))
        // Shell-quoted where needed (the JSON settings), as scripts/dev sources the file.
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect();
    vars.push(("FAAS_ECS_DNS_SERVER".into(), env("E2E_DNS")));
    vars
}

pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test"))
}

impl Stack {
    /// The provider in this process, built by `App::build` as `main` builds it.
    pub async fn start() -> Self {
        let mut args = vec!["faas-ecs".to_string()];
        for (key, value) in provider_env() {
            let flag = key
                .trim_start_matches("FAAS_ECS_")
                .to_lowercase()
                .replace('_', "-");
            args.push(format!("--{flag}={value}"));
        }
        // Autoscaling off: other tests' providers share its cluster (see start_binary). No wait
        // for a task at zero either: tests/integration/scaling.rs covers waking from zero.
        args.push("--autoscaling=false".into());
        args.push("--scale-from-zero-timeout=0".into());
        let config = Config::try_parse_from(args).unwrap();
        config.validate().unwrap();
        let sdk = config
            .aws
            .loader()
            .region("us-east-1")
            .endpoint_url(moto_url())
            .load()
            .await;
        let app = App::build(config, &sdk).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(faas_ecs::server::serve(
            listener,
            app.state.clone(),
            app.server_options(app.connection_limit()),
            std::future::pending(),
        ));
        Self {
            url,
            resolver: Some(app.resolver().clone()),
            process: None,
            _app: Some(app),
        }
    }

    /// The faas-ecs binary itself, its log (RUST_LOG=debug) captured to a file.
    /// Autoscaling off: other tests' providers share its cluster, and would scale its
    /// functions by a load they do not see.
    pub async fn start_binary() -> Self {
        Self::start_binary_with(free_port(), &[("FAAS_ECS_AUTOSCALING", "false")]).await
    }

    /// The faas-ecs binary on `port`, with `settings` added to its environment.
    pub async fn start_binary_with(port: u16, settings: &[(&str, &str)]) -> Self {
        let log =
            std::env::temp_dir().join(format!("faas-ecs-e2e-{}-{port}.log", std::process::id()));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_faas-ecs"))
            .envs(provider_env())
            .envs(settings.iter().copied())
            .env("AWS_ENDPOINT_URL", moto_url())
            .env("port", port.to_string())
            .env("bind_address", "127.0.0.1")
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        let stack = Self {
            url: format!("http://127.0.0.1:{port}"),
            resolver: None,
            process: Some((child, log)),
            _app: None,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let request = Request::get(format!("{}/healthz", stack.url))
                .body(Body::empty())
                .unwrap();
            if let Ok(r) = client().request(request).await
                && r.status() == StatusCode::OK
            {
                return stack;
            }
            assert!(
                Instant::now() < deadline,
                "faas-ecs did not start: {}",
                stack.captured_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The provider's process id, when the stack runs the binary.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|(child, _)| child.id())
    }

    pub fn captured_log(&self) -> String {
        let Some((_, log)) = &self.process else {
            return String::new();
        };
        std::fs::read_to_string(log).unwrap_or_default()
    }

    pub async fn send(&self, method: Method, path: &str, body: impl Into<Body>) -> Answer {
        fetch(method, format!("{}{path}", self.url), &[], body).await
    }

    pub async fn deploy(&self, body: Value) {
        let a = self
            .send(Method::POST, "/system/functions", body.to_string())
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    }

    pub async fn scale(&self, name: &str, replicas: u32) {
        let body = json!({"serviceName": name, "replicas": replicas}).to_string();
        let a = self
            .send(
                Method::POST,
                &format!("/system/scale-function/{name}"),
                body,
            )
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }

    /// GET /system/function/{name}.
    pub async fn status(&self, name: &str) -> Answer {
        let path = format!("/system/function/{name}");
        self.send(Method::GET, &path, Body::empty()).await
    }

    /// Waits until the function has exactly `replicas` ready replicas, as the gateway would poll.
    pub async fn wait_ready(&self, name: &str, replicas: u64) {
        // Generous: on two cores the whole suite shares them with the local runtime.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let a = self.status(name).await;
            if a.status == StatusCode::OK {
                let s = a.json();
                if s["availableReplicas"] == replicas && s["replicas"] == replicas {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{name} never had {replicas} ready replicas"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn invoke(
        &self,
        method: Method,
        path: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, String) {
        let a = self.send(method, path, body).await;
        (a.status, a.text())
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
