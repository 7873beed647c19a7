//! End to end: the provider on the emulator with the local task runtime (started by
//! scripts/test) running the functions, invoked through the proxy over real sockets.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use clap::Parser;
use faas_ecs::backend::ecs::{AwsClients, EcsBackend, EcsSettings};
use faas_ecs::config::Config;
use faas_ecs::model::FunctionName;
use faas_ecs::proxy::Proxy;
use faas_ecs::resolver::Resolver;
use faas_ecs::resolver::dns::{DnsResolver, RecordKind};
use futures::StreamExt;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::support::moto_url;

/// A provider on a real socket, configured as scripts/dev configures it.
struct Stack {
    url: String,
    resolver: Arc<dyn Resolver>,
    client: Client<HttpConnector, Body>,
}

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test"))
}

impl Stack {
    async fn start() -> Self {
        let settings = std::fs::read_to_string(env("E2E_PROVIDER_ENV")).unwrap();
        let mut args = vec!["faas-ecs".to_string()];
        for line in settings.lines().filter(|l| l.contains('=')) {
            let (key, value) = line.split_once('=').unwrap();
            let flag = key
                .trim_start_matches("FAAS_ECS_")
                .to_lowercase()
                .replace('_', "-");
            args.push(format!("--{flag}={value}"));
        }
        args.push(format!("--dns-server={}", env("E2E_DNS")));
        let config = Config::try_parse_from(args).unwrap();
        config.validate().unwrap();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region("us-east-1")
            .endpoint_url(moto_url())
            .load()
            .await;
        let aws = AwsClients::new(&sdk);
        let settings = EcsSettings::from_config(&config, "us-east-1").unwrap();
        let domain = EcsBackend::dns_domain_of(&aws, &settings).await.unwrap();
        let resolver: Arc<dyn Resolver> = Arc::new(
            DnsResolver::new(&domain, config.dns_server, RecordKind::A { port: 8080 }).unwrap(),
        );
        let backend = EcsBackend::start(aws, settings, resolver.clone())
            .await
            .unwrap();
        let proxy = Proxy::new(resolver.clone(), Duration::from_secs(30));
        let router = faas_ecs::router(faas_ecs::AppState::new(backend, proxy, None));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(faas_ecs::server::serve(
            listener,
            router,
            Duration::from_secs(10),
            Duration::from_secs(1),
            std::future::pending(),
        ));
        Self {
            url,
            resolver,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .body(body.into())
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        )
    }

    async fn deploy(&self, body: Value) {
        let (status, _, text) = self
            .send(Method::POST, "/system/functions", body.to_string())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{text:?}");
    }

    async fn scale(&self, name: &str, replicas: u32) {
        let body = json!({"serviceName": name, "replicas": replicas}).to_string();
        let (status, _, _) = self
            .send(
                Method::POST,
                &format!("/system/scale-function/{name}"),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }

    /// Waits until the function has exactly `replicas` ready replicas, as the gateway would poll.
    async fn wait_ready(&self, name: &str, replicas: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, _, body) = self
                .send(
                    Method::GET,
                    &format!("/system/function/{name}"),
                    Body::empty(),
                )
                .await;
            if status == StatusCode::OK {
                let s: Value = serde_json::from_slice(&body).unwrap();
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

    async fn invoke(
        &self,
        method: Method,
        path: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, String) {
        let (status, _, body) = self.send(method, path, body).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

fn line<'a>(output: &'a str, key: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::test]
async fn a_deployed_function_answers_invocations() {
    let stack = Stack::start().await;
    stack.deploy(json!({"service": "e2e-echo", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})).await;
    stack.wait_ready("e2e-echo", 1).await;
    let (status, output) = stack.invoke(Method::POST, "/function/e2e-echo", "hi").await;
    assert_eq!((status, output.as_str()), (StatusCode::OK, "hi"));
}

#[tokio::test]
async fn methods_query_path_and_env_vars_reach_the_function() {
    let stack = Stack::start().await;
    stack
        .deploy(json!({"service": "e2e-env", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "env",
                       "envVars": {"GREETING": "hello"}}))
        .await;
    stack.wait_ready("e2e-env", 1).await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, output) = stack
            .invoke(method.clone(), "/function/e2e-env/some/path?a=1&b=two", "x")
            .await;
        assert_eq!(status, StatusCode::OK, "{method}: {output}");
        assert_eq!(
            line(&output, "Http_Method"),
            Some(method.as_str()),
            "{output}"
        );
        assert_eq!(line(&output, "Http_Query"), Some("a=1&b=two"), "{output}");
        assert_eq!(line(&output, "Http_Path"), Some("/some/path"), "{output}");
        assert_eq!(line(&output, "GREETING"), Some("hello"), "{output}");
        assert_eq!(line(&output, "fprocess"), Some("env"), "{output}");
    }
}

#[tokio::test]
async fn three_replicas_share_the_load_and_survive_a_killed_task() {
    let stack = Stack::start().await;
    let name = "e2e-spread";
    stack.deploy(json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "env"})).await;
    stack.scale(name, 3).await;
    stack.wait_ready(name, 3).await;
    let mut hosts = HashSet::new();
    for _ in 0..30 {
        let (status, output) = stack
            .invoke(Method::GET, &format!("/function/{name}"), Body::empty())
            .await;
        assert_eq!(status, StatusCode::OK);
        hosts.insert(line(&output, "HOSTNAME").unwrap().to_string());
    }
    assert_eq!(hosts.len(), 3, "{hosts:?}");

    // Kill one task the way a crash would.
    let tasks: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(env("E2E_TASKS")).unwrap()).unwrap();
    let victim = tasks
        .iter()
        .find(|t| t["service"] == name && t["registered"] == true)
        .unwrap();
    let victim_ip: std::net::IpAddr = victim["ip"].as_str().unwrap().parse().unwrap();
    let status = std::process::Command::new("kill")
        .arg("-9")
        .arg(victim["pid"].to_string())
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..30 {
        let (status, output) = stack
            .invoke(Method::GET, &format!("/function/{name}"), Body::empty())
            .await;
        assert_eq!(status, StatusCode::OK, "{output}");
    }
    // Its address leaves DNS, and the runtime brings the count back, as ECS would.
    let fn_name = FunctionName::parse(name).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let endpoints = stack.resolver.resolve(&fn_name).await;
        let addrs: Vec<SocketAddr> = endpoints.as_slice().to_vec();
        if !addrs.iter().any(|a| a.ip() == victim_ip) && addrs.len() == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "killed task still in DNS or not replaced: {addrs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn scaled_to_zero_answers_503_from_the_proxy() {
    let stack = Stack::start().await;
    let name = "e2e-zero";
    stack.deploy(json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})).await;
    stack.wait_ready(name, 1).await;
    stack.scale(name, 0).await;
    // As with ECS, the task answers until it is deregistered and stopped.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (headers, body) = loop {
        let (status, headers, body) = stack
            .send(Method::GET, &format!("/function/{name}"), Body::empty())
            .await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break (headers, body);
        }
        assert_eq!(status, StatusCode::OK, "{body:?}");
        assert!(
            Instant::now() < deadline,
            "still answering after scale to zero"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(headers["x-openfaas-internal"], "proxy");
    assert_eq!(body, format!("No endpoints available for: {name}."));
}

#[tokio::test]
async fn redirects_streams_and_large_bodies_pass_through_a_real_function() {
    let stack = Stack::start().await;
    let name = "e2e-http";
    stack
        .deploy(json!({"service": name, "image": "faas-ecs/http-example:latest"}))
        .await;
    stack.wait_ready(name, 1).await;

    let (status, headers, _) = stack
        .send(
            Method::GET,
            &format!("/function/{name}/redirect"),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/elsewhere");

    // Each line is received before the function writes the last one.
    let request = Request::get(format!("{}/function/{name}/ndjson", stack.url))
        .body(Body::empty())
        .unwrap();
    let response = stack.client.request(request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let mut stream = response.into_body().into_data_stream();
    let mut buffer = Vec::new();
    let mut received_at = Vec::new();
    while let Some(chunk) = stream.next().await {
        buffer.extend_from_slice(&chunk.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Value = serde_json::from_slice(&buffer[..end]).unwrap();
            received_at.push((line["at"].as_f64().unwrap(), now));
            buffer.drain(..=end);
        }
    }
    assert_eq!(received_at.len(), 5);
    let last_written = received_at[4].0;
    assert!(
        received_at[0].1 < last_written,
        "the first line arrived only after the last was written: {received_at:?}"
    );

    let big = vec![7u8; 10 * 1024 * 1024];
    let (status, _, body) = stack
        .send(Method::POST, &format!("/function/{name}/echo"), big.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), big.len());
    assert!(body == big);
}
