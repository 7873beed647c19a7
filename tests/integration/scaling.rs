//! Scaling end to end: the faas-ecs binary on the emulator, the local task runtime starting and
//! stopping tasks as desired counts change, and load generated over real sockets. Durations are
//! shortened by configuration, not waited out. Each test has an ECS cluster of its own, so that
//! no other test's provider scales its functions.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::support::{Stack, eventually, free_port, moto_url};

/// Waits until the function has no task left, in service or draining: the local runtime stops a
/// deregistered task the record TTL and a second after it left DNS, as ECS does, so by then the
/// provider's DNS answers no longer hold it.
async fn wait_out_of_service(name: &str) {
    let tasks = std::env::var("E2E_TASKS").expect("E2E_TASKS: run the tests with scripts/test");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running: Vec<Value> = std::fs::read_to_string(&tasks)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        if !running.iter().any(|t| t["service"] == name) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name} still has tasks in service"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Scaling tests that run at once: each runs provider binaries, tasks and load on a machine of
/// two cores, and the local runtime serves every test; more at once starves them all.
static AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A place among the scaling tests that run at once, held for the test.
async fn turn() -> tokio::sync::SemaphorePermit<'static> {
    AT_ONCE.acquire().await.expect("never closed")
}

/// The scaler's round in [`FAST`].
const ROUND: Duration = Duration::from_millis(500);

/// Short rounds and windows, so that each behaviour shows within seconds.
const FAST: [(&str, &str); 3] = [
    ("FAAS_ECS_SCALE_INTERVAL", "500ms"),
    ("FAAS_ECS_SCALE_WINDOW", "3s"),
    ("FAAS_ECS_SCALE_DOWN_DELAY", "6s"),
];

/// Settings for a provider of a new cluster of the emulator's default account (which the local
/// runtime watches), with the fast rounds and `extra`.
async fn settings<'a>(cluster: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let sdk = faas_ecs::aws::loader()
        .region("us-east-1")
        .endpoint_url(moto_url())
        .load()
        .await;
    aws_sdk_ecs::Client::new(&sdk)
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .unwrap();
    let mut settings = FAST.to_vec();
    settings.push(("FAAS_ECS_CLUSTER", cluster));
    settings.push(("FAAS_ECS_AUTOSCALING", "true"));
    settings.extend_from_slice(extra);
    settings
}

/// `FAAS_ECS_PEERS` for providers on these loopback ports.
fn peer_urls(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn start(cluster: &str, extra: &[(&str, &str)]) -> Stack {
    Stack::start_binary_with(free_port(), &settings(cluster, extra).await).await
}

fn function(name: &str, image_command: &str, labels: Value) -> Value {
    json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest",
           "envProcess": image_command, "labels": labels})
}

async fn replicas(stack: &Stack, name: &str) -> u64 {
    let a = stack.status(name).await;
    assert_eq!(a.status, StatusCode::OK);
    a.json()["replicas"].as_u64().unwrap()
}

/// Polls until the function's desired count is `want`; panics after `within`.
async fn wait_replicas(stack: &Stack, name: &str, want: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let now = replicas(stack, name).await;
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} still at {now} replicas, not {want}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The value of one series in the provider's /metrics, 0 when absent.
async fn metric(stack: &Stack, series: &str) -> f64 {
    let text = stack
        .send(Method::GET, "/metrics", Body::empty())
        .await
        .text();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn decisions(stack: &Stack, name: &str, reason: &str) -> f64 {
    metric(
        stack,
        &format!(
            r#"faas_ecs_scaling_decisions_total{{function_name="{name}",namespace="openfaas-fn",reason="{reason}"}}"#
        ),
    )
    .await
}

/// `clients` callers, each invoking `path` `per_second` times a second on a new connection each
/// time, for `duration`, the n-th caller on `urls[n % urls.len()]`. Returns the statuses seen.
async fn load(
    urls: &[String],
    path: &str,
    clients: usize,
    per_second: u32,
    duration: Duration,
) -> Vec<StatusCode> {
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let url = format!("{}{path}", urls[n % urls.len()]);
            tokio::spawn(async move {
                // No keep-alive: every request opens a connection, as the conformance suite does.
                let client = Client::builder(TokioExecutor::new())
                    .pool_max_idle_per_host(0)
                    .build_http::<Body>();
                let mut ticker = tokio::time::interval(Duration::from_secs(1) / per_second);
                let end = Instant::now() + duration;
                let mut seen = Vec::new();
                while Instant::now() < end {
                    ticker.tick().await;
                    let request = Request::post(&url).body(Body::from("hi")).unwrap();
                    match client.request(request).await {
                        Ok(response) => seen.push(response.status()),
                        Err(_) => seen.push(StatusCode::BAD_GATEWAY),
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// Log lines with `what` about function `name` (colours taken out).
fn count_lines(log: &str, what: &str, name: &str) -> usize {
    let field = format!("function.name={name} ");
    log.lines()
        .map(|l| {
            let mut plain = String::new();
            let mut rest = l;
            while let Some(start) = rest.find('\x1b') {
                plain.push_str(&rest[..start]);
                rest = rest[start..].split_once('m').map_or("", |(_, after)| after);
            }
            plain + rest
        })
        .filter(|l| l.contains(what) && l.contains(&field))
        .count()
}

#[tokio::test]
async fn an_invocation_at_zero_scales_once_and_every_held_request_is_answered() {
    needs_emulator!();
    let _turn = turn().await;
    let name = "sc-wake";
    let stack = start(name, &[("FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", "40s")]).await;
    // min = max: load does not move it, so the only change after the manual one is the wake.
    let labels = json!({"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1"});
    stack.deploy(function(name, "cat", labels)).await;
    stack.wait_ready(name, 1).await;
    stack.scale(name, 0).await;
    // Meanwhile, the user's zero is respected.
    wait_out_of_service(name).await;
    assert_eq!(replicas(&stack, name).await, 0);

    let calls = (0..20).map(|i| {
        let stack = &stack;
        async move {
            stack
                .invoke(Method::POST, &format!("/function/{name}"), format!("n{i}"))
                .await
        }
    });
    let answers = futures::future::join_all(calls).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(
            (*status, body.as_str()),
            (StatusCode::OK, format!("n{i}").as_str())
        );
    }
    assert_eq!(replicas(&stack, name).await, 1);
    assert_eq!(decisions(&stack, name, "wake").await, 1.0);
    let log = stack.captured_log();
    assert_eq!(
        count_lines(&log, "function scaled", name),
        2,
        "one UpdateService to zero by hand, one for the wake:\n{log}"
    );
}

#[tokio::test]
async fn a_wait_for_a_task_is_bounded_by_a_504_from_the_proxy() {
    needs_emulator!();
    let _turn = turn().await;
    let name = "sc-never";
    let stack = start(name, &[("FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", "1s")]).await;
    // A classic watchdog without fprocess exits at start: the task never becomes ready.
    stack
        .deploy(json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest"}))
        .await;
    let (status, headers, body) = stack
        .send(Method::GET, &format!("/function/{name}"), Body::empty())
        .await
        .parts();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body:?}");
    assert_eq!(headers["x-openfaas-internal"], "proxy");
    assert!(
        String::from_utf8_lossy(&body).contains("became ready within 1s"),
        "{body:?}"
    );
    // An unknown function is not waited for.
    let (status, _, _) = stack
        .send(Method::GET, "/function/sc-unknown", Body::empty())
        .await
        .parts();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn an_idle_function_goes_to_zero_after_its_last_invocation_ends_and_wakes_again() {
    needs_emulator!();
    let _turn = turn().await;
    let name = "sc-idle";
    let stack = start(name, &[("FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", "40s")]).await;
    let labels =
        json!({"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "3s"});
    stack.deploy(function(name, "sleep 5", labels)).await;
    // Invoked at once (held until the task is ready): a five-second invocation outlasts the
    // three-second idle time, and is activity until it ends.
    let (status, _) = stack
        .invoke(Method::POST, &format!("/function/{name}"), "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decisions(&stack, name, "idle").await, 0.0);
    assert_eq!(replicas(&stack, name).await, 1);
    wait_replicas(&stack, name, 0, Duration::from_secs(15)).await;
    assert_eq!(decisions(&stack, name, "idle").await, 1.0);
    wait_out_of_service(name).await;

    let (status, _) = stack
        .invoke(Method::POST, &format!("/function/{name}"), "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replicas(&stack, name).await, 1);
    assert_eq!(decisions(&stack, name, "wake").await, 1.0);
}

#[tokio::test]
async fn steady_load_takes_one_replica_to_two_and_back_and_min_equal_max_stays() {
    needs_emulator!();
    let _turn = turn().await;
    let (elastic, fixed) = ("sc-load", "sc-fixed");
    let stack = start(elastic, &[]).await;
    for (name, min) in [(elastic, "1"), (fixed, "2")] {
        let labels = json!({"com.openfaas.scale.min": min, "com.openfaas.scale.max": "2"});
        stack.deploy(function(name, "cat", labels)).await;
    }
    stack.wait_ready(elastic, 1).await;
    stack.wait_ready(fixed, 2).await;

    // 10 requests a second: 2 callers at 5 a second each, no keep-alive, on both functions.
    let urls = [stack.url.clone()];
    let (to_elastic, to_fixed) = (format!("/function/{elastic}"), format!("/function/{fixed}"));
    let seconds = Duration::from_secs(12);
    let (a, b) = tokio::join!(
        load(&urls, &to_elastic, 2, 5, seconds),
        load(&urls, &to_fixed, 2, 5, seconds),
    );
    assert!(
        a.iter().chain(&b).all(|s| *s == StatusCode::OK),
        "{a:?} {b:?}"
    );
    assert_eq!(replicas(&stack, elastic).await, 2, "scaled up under load");
    assert_eq!(
        decisions(&stack, elastic, "load").await,
        1.0,
        "once, no flapping"
    );
    assert_eq!(replicas(&stack, fixed).await, 2);

    wait_replicas(&stack, elastic, 1, Duration::from_secs(20)).await;
    assert_eq!(decisions(&stack, elastic, "calm").await, 1.0);
    assert_eq!(decisions(&stack, fixed, "load").await, 0.0);
    assert_eq!(decisions(&stack, fixed, "calm").await, 0.0);
    assert_eq!(replicas(&stack, fixed).await, 2);
}

#[tokio::test]
async fn a_manual_scale_beyond_max_is_taken_and_later_brought_back_by_the_scaler() {
    needs_emulator!();
    let _turn = turn().await;
    let name = "sc-manual";
    let stack = start(name, &[]).await;
    let labels = json!({"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "2"});
    stack.deploy(function(name, "cat", labels)).await;
    stack.wait_ready(name, 1).await;
    stack.scale(name, 3).await;
    assert_eq!(replicas(&stack, name).await, 3);
    // Once the scaler has seen the count, it keeps it for the down delay, not a round.
    let desired = format!(
        r#"faas_ecs_function_desired_replicas{{function_name="{name}",namespace="openfaas-fn"}}"#
    );
    eventually("the scaler sees 3", Duration::from_secs(10), async || {
        metric(&stack, &desired).await == 3.0
    })
    .await;
    tokio::time::sleep(ROUND * 2).await;
    assert_eq!(replicas(&stack, name).await, 3, "kept for the down delay");
    wait_replicas(&stack, name, 1, Duration::from_secs(20)).await;
    assert_eq!(decisions(&stack, name, "calm").await, 1.0);
}

#[tokio::test]
async fn two_providers_scale_by_their_summed_load_and_only_one_of_them_writes() {
    needs_emulator!();
    let _turn = turn().await;
    let ports = [free_port(), free_port()];
    let peers = peer_urls(&ports);
    let name = "sc-pair";
    let settings = settings(name, &[("FAAS_ECS_PEERS", &peers)]).await;
    let (one, two) = tokio::join!(
        Stack::start_binary_with(ports[0], &settings),
        Stack::start_binary_with(ports[1], &settings),
    );
    // 8 a second per replica: the 10 a second in all call for 2, either half alone for 1.
    let labels = json!({"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "2",
                        "com.openfaas.scale.target": "8"});
    one.deploy(function(name, "cat", labels)).await;
    one.wait_ready(name, 1).await;

    let urls = [one.url.clone(), two.url.clone()];
    let path = format!("/function/{name}");
    let running =
        tokio::spawn(async move { load(&urls, &path, 2, 5, Duration::from_secs(12)).await });
    let rate = format!(
        r#"faas_ecs_scaler_requests_per_second{{function_name="{name}",namespace="openfaas-fn"}}"#
    );
    eventually(
        "each replica sees the whole load (over 7.5 a second), not its half",
        Duration::from_secs(12),
        async || metric(&one, &rate).await > 7.5 && metric(&two, &rate).await > 7.5,
    )
    .await;
    let statuses = running.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(replicas(&one, name).await, 2);
    wait_replicas(&two, name, 2, Duration::from_secs(10)).await;
    wait_replicas(&one, name, 1, Duration::from_secs(20)).await;
    let mut writes = 0.0;
    let mut writers = 0;
    for stack in [&one, &two] {
        let n = decisions(stack, name, "load").await + decisions(stack, name, "calm").await;
        writes += n;
        writers += usize::from(n > 0.0);
    }
    assert_eq!(
        (writes, writers),
        (2.0, 1),
        "one up, one down, by one replica"
    );
}

#[tokio::test]
async fn only_a_replica_that_scales_leads_and_every_replica_names_it() {
    needs_emulator!();
    let _turn = turn().await;
    let ports = [free_port(), free_port(), free_port()];
    let peers = peer_urls(&ports);
    let name = "sc-elect";
    let scaler = settings(name, &[("FAAS_ECS_PEERS", &peers)]).await;
    let mut bystander = scaler.clone();
    bystander.push(("FAAS_ECS_AUTOSCALING", "false"));
    // Whatever their random ids, the two that do not scale must not stall the one that does.
    let (one, two, three) = tokio::join!(
        Stack::start_binary_with(ports[0], &bystander),
        Stack::start_binary_with(ports[1], &scaler),
        Stack::start_binary_with(ports[2], &bystander),
    );
    let id = two
        .send(Method::GET, "/system/scaling", Body::empty())
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let leader = format!(r#"faas_ecs_scaling_leader{{replica="{id}"}}"#);
    for stack in [&one, &two, &three] {
        eventually(
            "every replica names the one that scales",
            Duration::from_secs(15),
            async || metric(stack, &leader).await == 1.0,
        )
        .await;
    }
    let labels = json!({"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "2"});
    one.deploy(function(name, "cat", labels)).await;
    one.wait_ready(name, 1).await;
    one.scale(name, 3).await;
    wait_replicas(&one, name, 1, Duration::from_secs(30)).await;
    assert_eq!(decisions(&two, name, "calm").await, 1.0);
    for bystander in [&one, &three] {
        assert_eq!(decisions(bystander, name, "calm").await, 0.0);
    }
    let log = two.captured_log();
    assert_eq!(
        log.matches("this replica leads scaling").count(),
        1,
        "said once:\n{log}"
    );
}

/// Sends a signal (`STOP`, `CONT`) to a provider's process.
fn signal(stack: &Stack, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(stack.pid().unwrap().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_leader_resumed_after_a_pause_waits_a_full_down_delay_before_lowering_a_count() {
    needs_emulator!();
    let _turn = turn().await;
    let ports = [free_port(), free_port()];
    let peers = peer_urls(&ports);
    let name = "sc-pause";
    let leader_settings = settings(name, &[("FAAS_ECS_PEERS", &peers)]).await;
    let mut bystander = leader_settings.clone();
    bystander.push(("FAAS_ECS_AUTOSCALING", "false"));
    let (leader, other) = tokio::join!(
        Stack::start_binary_with(ports[0], &leader_settings),
        Stack::start_binary_with(ports[1], &bystander),
    );
    let labels = json!({"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "2"});
    leader.deploy(function(name, "cat", labels)).await;
    leader.wait_ready(name, 1).await;
    other.scale(name, 2).await;
    let desired = format!(
        r#"faas_ecs_function_desired_replicas{{function_name="{name}",namespace="openfaas-fn"}}"#
    );
    eventually("the leader sees 2", Duration::from_secs(15), async || {
        metric(&leader, &desired).await == 2.0
    })
    .await;
    // Paused past the down delay: what it remembers of the window is old when it resumes.
    signal(&leader, "STOP");
    tokio::time::sleep(Duration::from_secs(8)).await;
    signal(&leader, "CONT");
    let resumed = Instant::now();
    while resumed.elapsed() < ROUND * 4 {
        assert_eq!(replicas(&leader, name).await, 2, "lowered on resuming");
        tokio::time::sleep(ROUND / 4).await;
    }
    wait_replicas(&leader, name, 1, Duration::from_secs(20)).await;
    assert_eq!(decisions(&leader, name, "calm").await, 1.0);
}

#[tokio::test]
async fn an_invocation_right_after_a_scale_to_zero_wakes_the_function_not_a_stopping_task() {
    needs_emulator!();
    let _turn = turn().await;
    let name = "sc-rewake";
    let stack = start(name, &[("FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", "40s")]).await;
    let labels = json!({"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1"});
    stack.deploy(function(name, "cat", labels)).await;
    stack.wait_ready(name, 1).await;
    // The task still answers while ECS stops it; the provider has its address in hand.
    stack.scale(name, 0).await;
    let (status, body) = stack
        .invoke(Method::POST, &format!("/function/{name}"), "again")
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "again"));
    assert_eq!(
        replicas(&stack, name).await,
        1,
        "woken, not served by the stopping task"
    );
    assert_eq!(decisions(&stack, name, "wake").await, 1.0);
}

#[tokio::test]
async fn invocations_held_for_a_task_are_reported_as_demand_until_answered() {
    needs_emulator!();
    let _turn = turn().await;
    let name = "sc-held";
    let stack = start(name, &[("FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", "6s")]).await;
    // A classic watchdog without fprocess exits at start: the task never becomes ready.
    stack
        .deploy(json!({"service": name, "image": "ghcr.io/openfaas/alpine:latest"}))
        .await;
    let path = format!("/function/{name}");
    let held = (0..3).map(|_| stack.invoke(Method::GET, &path, Body::empty()));
    let waiting = async || {
        let report = stack
            .send(Method::GET, "/system/scaling", Body::empty())
            .await
            .json();
        report["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map_or(0.0, |f| f["waiting"].as_f64().unwrap_or(0.0))
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(held), async {
        eventually(
            "three invocations reported waiting",
            Duration::from_secs(5),
            async || waiting().await == 3.0,
        )
        .await;
    });
    assert!(
        answers
            .iter()
            .all(|(s, _)| *s == StatusCode::GATEWAY_TIMEOUT),
        "{answers:?}"
    );
    eventually(
        "none waiting once answered",
        Duration::from_secs(5),
        async || waiting().await == 0.0,
    )
    .await;
}
