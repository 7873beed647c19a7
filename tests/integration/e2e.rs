//! End to end: the provider on the emulator with the local task runtime (started by
//! scripts/test) running the functions, invoked through the proxy over real sockets.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode};
use faas_ecs::resolver::Resolver;
use faas_ecs::resolver::discovery::{CloudMapResolver, discovery_client};
use faas_ecs::resolver::dns::{DnsResolver, RecordKind};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::stack::env;
use crate::support::{Stack, function_id, moto_url, send};

fn line<'a>(output: &'a str, key: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::test]
async fn a_deployed_function_answers_invocations() {
    needs_emulator!();
    let stack = Stack::start().await;
    stack.deploy(json!({"service": "e2e-echo", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})).await;
    stack.wait_ready("e2e-echo", 1).await;
    let (status, output) = stack.invoke(Method::POST, "/function/e2e-echo", "hi").await;
    assert_eq!((status, output.as_str()), (StatusCode::OK, "hi"));
    // What it cost in AWS calls is in /metrics.
    let metrics = stack
        .send(Method::GET, "/metrics", Body::empty())
        .await
        .text();
    for service in ["ECS", "ServiceDiscovery"] {
        let counted = metrics.lines().any(|l| {
            l.starts_with("faas_ecs_aws_calls_total{")
                && l.contains(&format!(r#"service="{service}""#))
                && l.contains(r#"operation="CreateService""#)
        });
        assert!(counted, "{service} CreateService not counted:\n{metrics}");
    }

    // The same task, found through SRV records and through the Cloud Map API.
    let name = function_id("e2e-echo");
    let by_a = stack.resolver.as_ref().unwrap().resolve(&name).await;
    let srv = DnsResolver::new(
        "openfaas.local",
        Some(env("E2E_DNS").parse().unwrap()),
        RecordKind::Srv,
    )
    .unwrap();
    assert_eq!(srv.resolve(&name).await, by_a);
    let sdk = faas_ecs::aws::loader()
        .region("us-east-1")
        .endpoint_url(moto_url())
        .load()
        .await;
    let calls = faas_ecs::metrics::Metrics::new().aws_calls;
    let api = CloudMapResolver::new(discovery_client(&sdk, &calls), "openfaas.local", 8080);
    assert_eq!(api.resolve(&name).await, by_a);
    assert_eq!(by_a.len(), 1);
}

#[tokio::test]
async fn methods_query_path_and_env_vars_reach_the_function() {
    needs_emulator!();
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
    needs_emulator!();
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
    let fn_name = function_id(name);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let endpoints = stack.resolver.as_ref().unwrap().resolve(&fn_name).await;
        let addrs: Vec<SocketAddr> = endpoints.addrs().collect();
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
    needs_emulator!();
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
            .await
            .parts();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break (headers, body);
        }
        assert_eq!(status, StatusCode::OK, "{body:?} {headers:?}");
        assert!(
            Instant::now() < deadline,
            "still answering after scale to zero"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(headers["x-openfaas-internal"], "proxy");
    assert_eq!(
        body,
        format!("No endpoints available for: {name}.openfaas-fn.")
    );
}

#[tokio::test]
async fn tasks_listen_on_8080_while_something_holds_it_on_every_address() {
    needs_emulator!();
    if std::env::var_os("E2E_PORT_8080_HELD").is_some() {
        assert!(
            std::net::TcpListener::bind("0.0.0.0:8080").is_err(),
            "scripts/test holds 0.0.0.0:8080 for the whole run"
        );
    }
    let stack = Stack::start().await;
    let name = "e2e-port-held";
    stack.deploy(json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})).await;
    stack.wait_ready(name, 1).await;
    let (status, output) = stack
        .invoke(Method::POST, &format!("/function/{name}"), "still here")
        .await;
    assert_eq!((status, output.as_str()), (StatusCode::OK, "still here"));
}

#[tokio::test]
async fn the_conformance_suites_redirector_and_a_users_own_image_run_in_http_mode() {
    needs_emulator!();
    let stack = Stack::start().await;
    // As the conformance suite deploys it.
    let redirector = "e2e-redirector";
    stack
        .deploy(json!({"service": redirector, "image": "docker.io/theaxer/redirector:latest",
                       "envProcess": "./handler", "envVars": {"destination": "http://example.com"}}))
        .await;
    // From the table scripts/test gives the runtime in FAAS_ECS_RUNTIME_IMAGES.
    let own = "e2e-own-image";
    stack
        .deploy(json!({"service": own, "image": "registry.example.com/team/http-hello:1.0"}))
        .await;
    stack.wait_ready(redirector, 1).await;
    stack.wait_ready(own, 1).await;
    let (status, headers, _) = stack
        .send(
            Method::POST,
            &format!("/function/{redirector}"),
            Body::empty(),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "http://example.com");
    let (status, headers, _) = stack
        .send(
            Method::GET,
            &format!("/function/{own}/redirect"),
            Body::empty(),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/elsewhere");
}

#[tokio::test]
async fn redirects_streams_and_large_bodies_pass_through_a_real_function() {
    needs_emulator!();
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
        .await
        .parts();
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/elsewhere");

    // Each line is received before the function writes the last one.
    let response = send(
        Method::GET,
        format!("{}/function/{name}/ndjson", stack.url),
        &[],
        Body::empty(),
    )
    .await;
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
        .await
        .parts();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), big.len());
    assert!(body == big);
}

/// Invokes until the function answers 200 (503s while its task starts); returns that answer.
async fn first_success(stack: &Stack, path: &str) -> Bytes {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = stack.send(Method::GET, path, Body::empty()).await.parts();
        match status {
            StatusCode::OK => return body,
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("{path}: {other} {body:?}"),
        }
        assert!(Instant::now() < deadline, "{path} never answered 200");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn secret_names(stack: &Stack) -> Vec<String> {
    let (status, _, body) = stack
        .send(Method::GET, "/system/secrets", Body::empty())
        .await
        .parts();
    assert_eq!(status, StatusCode::OK);
    let list: Vec<Value> = serde_json::from_slice(&body).unwrap();
    list.iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn functions_read_secrets_as_files_with_the_exact_bytes() {
    needs_emulator!();
    use base64::Engine;
    let stack = Stack::start_binary().await;
    let text = "e2e-text-value-7f3a";
    let raw: &[u8] = b"\x00raw\x00bytes\xff\n";
    let updated = "e2e-updated-value-91c2";
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);

    let create = |body: Value| stack.send(Method::POST, "/system/secrets", body.to_string());
    assert_eq!(
        create(json!({"name": "e2e-text", "value": text}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        create(json!({"name": "e2e-raw", "rawValue": b64}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        create(json!({"name": "e2e-text", "value": "again"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let names = secret_names(&stack).await;
    assert!(
        names.contains(&"e2e-text".to_string()) && names.contains(&"e2e-raw".to_string()),
        "{names:?}"
    );

    let missing = json!({"service": "e2e-nosecret", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat", "secrets": ["nope"]});
    let (status, _, _) = stack
        .send(Method::POST, "/system/functions", missing.to_string())
        .await
        .parts();
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unknown secret is refused before any change"
    );

    let reader = |name: &str, secret: &str| {
        json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest",
               "envProcess": format!("cat /var/openfaas/secrets/{secret}"), "secrets": [secret]})
    };
    stack.deploy(reader("e2e-read-text", "e2e-text")).await;
    stack.deploy(reader("e2e-read-raw", "e2e-raw")).await;
    assert_eq!(
        first_success(&stack, "/function/e2e-read-text").await,
        text.as_bytes()
    );
    assert_eq!(first_success(&stack, "/function/e2e-read-raw").await, raw);

    // A new value reaches the function with its next update, and no answer after it is stale.
    let (status, _, _) = stack
        .send(
            Method::PUT,
            "/system/secrets",
            json!({"name": "e2e-text", "value": updated}).to_string(),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = stack
        .send(
            Method::PUT,
            "/system/functions",
            reader("e2e-read-text", "e2e-text").to_string(),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        first_success(&stack, "/function/e2e-read-text").await,
        updated.as_bytes()
    );

    for name in ["e2e-read-text", "e2e-read-raw"] {
        let (status, _, _) = stack
            .send(
                Method::DELETE,
                "/system/functions",
                json!({"functionName": name}).to_string(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    for name in ["e2e-text", "e2e-raw"] {
        let (status, _, _) = stack
            .send(
                Method::DELETE,
                "/system/secrets",
                json!({"name": name}).to_string(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::OK);
    }
    let names = secret_names(&stack).await;
    assert!(!names.iter().any(|n| n.starts_with("e2e-")), "{names:?}");
    let (status, _, _) = stack
        .send(
            Method::PUT,
            "/system/secrets",
            json!({"name": "e2e-text", "value": "x"}).to_string(),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::NOT_FOUND);

    let log = stack.captured_log();
    assert!(
        log.contains("secret created"),
        "the provider's log was captured: {log}"
    );
    for value in [text, updated, b64.as_str()] {
        assert!(!log.contains(value), "the provider logged a secret value");
    }
    let encoded_text = base64::engine::general_purpose::STANDARD.encode(text);
    assert!(
        !log.contains(&encoded_text),
        "the provider logged a stored secret"
    );
}

/// The NDJSON lines of a log request, read until the stream ends.
async fn log_lines(stack: &Stack, query: &str) -> Vec<Value> {
    let (status, headers, body) = stack
        .send(Method::GET, &format!("/system/logs?{query}"), Body::empty())
        .await
        .parts();
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(headers["content-type"], "application/x-ndjson");
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

fn text_after_timestamp(line: &Value) -> &str {
    // The watchdog prefixes its lines as Go's log package does: "2006/01/02 15:04:05 ".
    line["text"].as_str().unwrap().get(20..).unwrap_or_default()
}

#[tokio::test]
async fn function_output_is_streamed_from_cloudwatch_logs() {
    needs_emulator!();
    let stack = Stack::start().await;
    let name = "e2e-logs";
    stack.deploy(json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})).await;
    stack.wait_ready(name, 1).await;
    let (status, output) = stack
        .invoke(Method::POST, &format!("/function/{name}"), "openfaas-fn")
        .await;
    assert_eq!((status, output.as_str()), (StatusCode::OK, "openfaas-fn"));

    // The runtime ships lines as they are written; a request without follow ends by itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let lines = tokio::time::timeout(
            Duration::from_secs(10),
            log_lines(&stack, &format!("name={name}&follow=false")),
        )
        .await
        .expect("the request ends without follow");
        if lines
            .iter()
            .any(|l| text_after_timestamp(l).starts_with("Wrote 11 Bytes"))
        {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "no 'Wrote 11 Bytes' line: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        lines
            .iter()
            .any(|l| text_after_timestamp(l).starts_with("Forking fprocess")),
        "{lines:?}"
    );
    let line = &lines[0];
    assert_eq!(line["name"], name);
    assert_eq!(line["namespace"], "openfaas-fn");
    assert_eq!(
        line["instance"].as_str().unwrap().len(),
        32,
        "the task id: {line}"
    );
    assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        log_lines(&stack, &format!("name={name}&tail=1"))
            .await
            .len(),
        1
    );
    let (status, _, _) = stack
        .send(
            Method::GET,
            &format!("/system/logs?name={name}&tail=x"),
            Body::empty(),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // With follow, a line written after the stream opened arrives on it.
    let response = send(
        Method::GET,
        format!("{}/system/logs?name={name}&follow=true&tail=1", stack.url),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    let (status, _) = stack
        .invoke(Method::POST, &format!("/function/{name}"), "after")
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut buffer = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = stream.next().await {
            buffer.extend_from_slice(&chunk.unwrap());
            let text = String::from_utf8_lossy(&buffer);
            if text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .any(|l| text_after_timestamp(&l).starts_with("Wrote 5 Bytes"))
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "the new line did not arrive: {}",
        String::from_utf8_lossy(&buffer)
    );
}

#[tokio::test]
async fn one_name_in_two_namespaces_is_two_functions_each_reading_its_own_secret() {
    needs_emulator!();
    let stack = Stack::start().await;
    // E2E tests share one account: namespaces of this test's own.
    let (a, b, c) = ("e2e-team-a", "e2e-team-b", "e2e-team-c");
    for ns in [a, b, c] {
        let (status, _, text) = stack
            .send(
                Method::POST,
                "/system/namespace/",
                json!({"name": ns, "labels": {"openfaas": "1"}}).to_string(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::CREATED, "{text:?}");
    }
    for ns in [a, b] {
        let secret =
            json!({"name": "e2e-key", "value": format!("secret of {ns}"), "namespace": ns});
        let (status, _, _) = stack
            .send(Method::POST, "/system/secrets", secret.to_string())
            .await
            .parts();
        assert_eq!(status, StatusCode::CREATED);
        stack
            .deploy(json!({"service": "e2e-ns-echo", "namespace": ns, "image": "ghcr.io/openfaas/alpine:latest",
                           "envProcess": "cat /var/openfaas/secrets/e2e-key", "secrets": ["e2e-key"]}))
            .await;
    }
    // Invoked as the gateway forwards them: `name.namespace`.
    assert_eq!(
        first_success(&stack, &format!("/function/e2e-ns-echo.{a}")).await,
        format!("secret of {a}").as_bytes()
    );
    assert_eq!(
        first_success(&stack, &format!("/function/e2e-ns-echo.{b}")).await,
        format!("secret of {b}").as_bytes()
    );
    let (status, _) = stack
        .invoke(Method::GET, "/function/e2e-ns-echo", Body::empty())
        .await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not in openfaas-fn"
    );
    // Each namespace's logs are its own function's: other tasks, the right namespace.
    let mut tasks: Vec<HashSet<String>> = Vec::new();
    for ns in [a, b] {
        let deadline = Instant::now() + Duration::from_secs(20);
        let lines = loop {
            let lines = log_lines(&stack, &format!("name=e2e-ns-echo&namespace={ns}")).await;
            if lines
                .iter()
                .any(|l| text_after_timestamp(l).starts_with("Wrote"))
            {
                break lines;
            }
            assert!(Instant::now() < deadline, "no output in {ns}: {lines:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        assert!(lines.iter().all(|l| l["namespace"] == ns), "{lines:?}");
        tasks.push(
            lines
                .iter()
                .map(|l| l["instance"].as_str().unwrap().to_string())
                .collect(),
        );
    }
    assert!(tasks[0].is_disjoint(&tasks[1]), "{tasks:?}");
    // A third namespace cannot mount another's secret: it does not exist there.
    let borrow = json!({"service": "e2e-ns-echo", "namespace": c, "image": "ghcr.io/openfaas/alpine:latest",
                        "envProcess": "cat /var/openfaas/secrets/e2e-key", "secrets": ["e2e-key"]});
    let (status, _, text) = stack
        .send(Method::POST, "/system/functions", borrow.to_string())
        .await
        .parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text:?}");

    for ns in [a, b] {
        let (status, _, _) = stack
            .send(
                Method::DELETE,
                &format!("/system/namespace/{ns}"),
                Body::empty(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::CONFLICT, "{ns} still holds a function");
        let (status, _, _) = stack
            .send(
                Method::DELETE,
                "/system/functions",
                json!({"functionName": "e2e-ns-echo", "namespace": ns}).to_string(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, _, _) = stack
            .send(
                Method::DELETE,
                "/system/secrets",
                json!({"name": "e2e-key", "namespace": ns}).to_string(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::OK);
    }
    for ns in [a, b, c] {
        let (status, _, _) = stack
            .send(
                Method::DELETE,
                &format!("/system/namespace/{ns}"),
                Body::empty(),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::ACCEPTED, "{ns}");
    }
}

#[tokio::test]
async fn a_function_on_spot_and_graviton_profiles_answers_through_the_local_runtime() {
    needs_emulator!();
    // scripts/dev-bootstrap.py defines both profiles, as scripts/dev runs the provider.
    let stack = Stack::start().await;
    stack
        .deploy(json!({
            "service": "e2e-graviton",
            "image": "ghcr.io/openfaas/alpine:latest",
            "envProcess": "cat",
            "annotations": {
                "com.openfaas.profile": "spot,graviton",
                "com.openfaas.serviceaccount": "reports-reader",
            },
        }))
        .await;
    stack.wait_ready("e2e-graviton", 1).await;
    let (status, output) = stack
        .invoke(
            Method::POST,
            "/function/e2e-graviton",
            "on arm64, as far as it can tell",
        )
        .await;
    assert_eq!(
        (status, output.as_str()),
        (StatusCode::OK, "on arm64, as far as it can tell")
    );
}
