//! Namespaces: the API on the in-memory backend (every status a client can get), and their
//! mapping to AWS on the emulator (records, names per namespace, refusal while not empty,
//! restart, a second replica, the collector).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use faas_ecs::backend::memory::MemoryBackend;
use faas_ecs::backend::{FunctionBackend, NamespaceStore};
use faas_ecs::model::Namespace;
use serde_json::{Value, json};

use faas_ecs::backend::ecs::revisions;

use crate::emulator::{active_revisions, cloudmap_services, service};
use crate::support::{Account, Answer, TestApp, call, call_raw, deploy, eventually};

fn provider() -> Router {
    TestApp::init().router()
}

async fn create(p: &Router, body: Value) -> Answer {
    call(p, Method::POST, "/system/namespace/", Some(body)).await
}

#[tokio::test]
async fn a_namespace_body_that_is_not_a_json_object_is_400_and_makes_nothing() {
    let p = provider();
    for body in ["[]", "3", "\"ba\""] {
        let a = call_raw(
            &p,
            axum::http::Request::post("/system/namespace/ba")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
        assert!(a.text().contains("JSON object"), "{}", a.text());
    }
    assert_eq!(get(&p, "ba").await.status, StatusCode::NOT_FOUND);
}

async fn get(p: &Router, name: &str) -> Answer {
    call(p, Method::GET, &format!("/system/namespace/{name}"), None).await
}

async fn put(p: &Router, name: &str, body: Value) -> Answer {
    call(
        p,
        Method::PUT,
        &format!("/system/namespace/{name}"),
        Some(body),
    )
    .await
}

async fn delete(p: &Router, name: &str) -> Answer {
    // faas-cli sends the name again in a body.
    let body = json!({"name": name, "labels": {"openfaas": "1"}});
    call(
        p,
        Method::DELETE,
        &format!("/system/namespace/{name}"),
        Some(body),
    )
    .await
}

async fn names(p: &Router) -> Value {
    call(p, Method::GET, "/system/namespaces", None)
        .await
        .json()
}

fn echo_in(namespace: &str, process: &str) -> Value {
    json!({"service": "echo", "namespace": namespace, "image": "ghcr.io/openfaas/alpine:latest", "envProcess": process})
}

#[tokio::test]
async fn namespaces_are_created_read_updated_and_removed_with_the_statuses_clients_expect() {
    let p = provider();
    assert_eq!(names(&p).await, json!(["openfaas-fn"]));
    // As faas-cli sends it: POST /system/namespace/ with the name in the body.
    let team_a = json!({"name": "team-a", "labels": {"openfaas": "1", "team": "a"}, "annotations": {"owner": "a@example.com, \"ops\""}});
    assert_eq!(create(&p, team_a.clone()).await.status, StatusCode::CREATED);
    let again = create(&p, team_a.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    let read = get(&p, "team-a").await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), team_a, "exactly what was stored");
    assert_eq!(names(&p).await, json!(["openfaas-fn", "team-a"]));

    // Update: 202; labels replaced, annotations now absent stay absent.
    let changed = json!({"name": "team-a", "labels": {"openfaas": "1", "team": "b"}});
    assert_eq!(
        put(&p, "team-a", changed.clone()).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(get(&p, "team-a").await.json(), changed);
    assert_eq!(
        put(&p, "nope", json!({"name": "nope"})).await.status,
        StatusCode::NOT_FOUND
    );
    let mismatch = put(&p, "team-a", json!({"name": "team-b"})).await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(mismatch.text().contains("differ"), "{}", mismatch.text());

    // Bad names, reserved names, bad bodies: 400 with a reason, nothing created.
    for bad in [
        json!({"name": "Team_A"}),
        json!({"name": "-a"}),
        json!({"name": "a".repeat(64)}),
        json!({"name": "openfaas"}),
        json!({"name": ""}),
        json!({"name": "ok", "labels": {"": "x"}}),
    ] {
        let a = create(&p, bad.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!a.text().is_empty(), "{bad}");
    }
    let a = call(&p, Method::POST, "/system/namespace/", None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "no body");
    assert_eq!(names(&p).await, json!(["openfaas-fn", "team-a"]));
    assert_eq!(get(&p, "Bad_Name").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(&p, "nope").await.status, StatusCode::NOT_FOUND);

    // Delete: 404 unknown, 400 for the default, 409 while it holds functions or secrets.
    assert_eq!(delete(&p, "nope").await.status, StatusCode::NOT_FOUND);
    let default = delete(&p, "openfaas-fn").await;
    assert_eq!(
        default.status,
        StatusCode::BAD_REQUEST,
        "{}",
        default.text()
    );
    assert_eq!(
        deploy(&p, echo_in("team-a", "cat")).await.status,
        StatusCode::ACCEPTED
    );
    let secret = json!({"name": "key", "value": "v", "namespace": "team-a"});
    let a = call(&p, Method::POST, "/system/secrets", Some(secret.clone())).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let busy = delete(&p, "team-a").await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert!(
        busy.text().contains("1 function and 1 secret;"),
        "{}",
        busy.text()
    );
    let gone = json!({"functionName": "echo", "namespace": "team-a"});
    let a = call(&p, Method::DELETE, "/system/functions", Some(gone)).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(
        delete(&p, "team-a").await.status,
        StatusCode::CONFLICT,
        "the secret is left"
    );
    let a = call(&p, Method::DELETE, "/system/secrets", Some(secret)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(delete(&p, "team-a").await.status, StatusCode::ACCEPTED);
    assert_eq!(get(&p, "team-a").await.status, StatusCode::NOT_FOUND);
    assert_eq!(names(&p).await, json!(["openfaas-fn"]));
}

#[tokio::test]
async fn every_route_takes_the_namespace_and_namespaces_are_kept_apart() {
    let p = provider();
    for ns in ["team-a", "team-b"] {
        assert_eq!(
            create(&p, json!({"name": ns})).await.status,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        deploy(&p, echo_in("team-a", "echo a")).await.status,
        StatusCode::ACCEPTED
    );
    // The namespace in the query, the same name in another namespace.
    let b = call(
        &p,
        Method::POST,
        "/system/functions?namespace=team-b",
        Some(json!({"service": "echo", "image": "x:1", "envProcess": "echo b"})),
    )
    .await;
    assert_eq!(b.status, StatusCode::ACCEPTED);
    let list_a = call(&p, Method::GET, "/system/functions?namespace=team-a", None)
        .await
        .json();
    assert_eq!(list_a.as_array().unwrap().len(), 1);
    assert_eq!(list_a[0]["namespace"], "team-a");
    assert_eq!(list_a[0]["envProcess"], "echo a");
    let default = call(&p, Method::GET, "/system/functions", None)
        .await
        .json();
    assert_eq!(default, json!([]), "nothing in openfaas-fn");
    let status = |path: &'static str| call(&p, Method::GET, path, None);
    assert_eq!(
        status("/system/function/echo.team-b").await.json()["envProcess"],
        "echo b"
    );
    assert_eq!(
        status("/system/function/echo?namespace=team-a")
            .await
            .json()["envProcess"],
        "echo a"
    );
    assert_eq!(
        status("/system/function/echo").await.status,
        StatusCode::NOT_FOUND
    );

    // Scale and delete touch one namespace only.
    let a = call(
        &p,
        Method::POST,
        "/system/scale-function/echo",
        Some(json!({"serviceName": "echo", "namespace": "team-a", "replicas": 3})),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(
        status("/system/function/echo.team-a").await.json()["replicas"],
        3
    );
    assert_eq!(
        status("/system/function/echo.team-b").await.json()["replicas"],
        1
    );
    let a = call(
        &p,
        Method::DELETE,
        "/system/functions?namespace=team-b",
        Some(json!({"functionName": "echo"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(
        status("/system/function/echo.team-b").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status("/system/function/echo.team-a").await.status,
        StatusCode::OK
    );

    // Secrets: one namespace's are neither listed nor usable in another.
    let secret = json!({"name": "key", "value": "a-only", "namespace": "team-a"});
    let a = call(&p, Method::POST, "/system/secrets", Some(secret)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let listed = call(&p, Method::GET, "/system/secrets?namespace=team-b", None)
        .await
        .json();
    assert_eq!(listed, json!([]));
    let listed = call(&p, Method::GET, "/system/secrets?namespace=team-a", None)
        .await
        .json();
    assert_eq!(listed, json!([{"name": "key", "namespace": "team-a"}]));
    let mut uses = echo_in("team-b", "cat");
    uses["secrets"] = json!(["key"]);
    let a = deploy(&p, uses).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());

    // A namespace that does not exist: 400 on changes, 404 on reads.
    for (method, path, body) in [
        (
            Method::POST,
            "/system/functions",
            Some(echo_in("nope", "cat")),
        ),
        (
            Method::PUT,
            "/system/functions",
            Some(echo_in("nope", "cat")),
        ),
        (
            Method::DELETE,
            "/system/functions?namespace=nope",
            Some(json!({"functionName": "echo"})),
        ),
        (
            Method::POST,
            "/system/scale-function/echo.nope",
            Some(json!({"serviceName": "echo", "replicas": 1})),
        ),
        (
            Method::POST,
            "/system/secrets",
            Some(json!({"name": "k", "value": "v", "namespace": "nope"})),
        ),
        (
            Method::PUT,
            "/system/secrets",
            Some(json!({"name": "k", "value": "v", "namespace": "nope"})),
        ),
        (
            Method::DELETE,
            "/system/secrets",
            Some(json!({"name": "k", "namespace": "nope"})),
        ),
    ] {
        let a = call(&p, method.clone(), path, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert!(
            a.text().contains("namespace nope does not exist"),
            "{}",
            a.text()
        );
    }
    for path in [
        "/system/functions?namespace=nope",
        "/system/function/echo.nope",
        "/system/secrets?namespace=nope",
        "/system/logs?name=echo&namespace=nope",
    ] {
        assert_eq!(status(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn with_management_off_namespaces_are_used_but_not_changed() {
    let backend = Arc::new(MemoryBackend::new());
    let ready = faas_ecs::model::NamespaceSpec::bare(Namespace::parse("team-a").unwrap());
    backend.create_namespace(&ready).await.unwrap();
    let p = TestApp::on(backend)
        .with_namespace_management(false)
        .router();
    for a in [
        create(&p, json!({"name": "team-b"})).await,
        put(
            &p,
            "team-a",
            json!({"name": "team-a", "labels": {"x": "y"}}),
        )
        .await,
        delete(&p, "team-a").await,
    ] {
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(
            a.text().contains("FAAS_ECS_NAMESPACE_MANAGEMENT"),
            "{}",
            a.text()
        );
    }
    assert_eq!(names(&p).await, json!(["openfaas-fn", "team-a"]));
    assert_eq!(get(&p, "team-a").await.json(), json!({"name": "team-a"}));
    assert_eq!(
        deploy(&p, echo_in("team-a", "cat")).await.status,
        StatusCode::ACCEPTED
    );
}

// On the emulator.

/// The account's Cloud Map services, by name, and whether each is of type HTTP.
async fn registered(account: &Account) -> Vec<(String, bool)> {
    let mut found: Vec<(String, bool)> = cloudmap_services(account)
        .await
        .iter()
        .map(|s| {
            let http = s.r#type().is_some_and(|t| t.as_str() == "HTTP");
            (s.name().unwrap_or_default().to_string(), http)
        })
        .collect();
    found.sort();
    found
}

/// The task definition families with active revisions, sorted.
async fn families(account: &Account) -> Vec<String> {
    let mut families: Vec<String> = active_revisions(account)
        .await
        .iter()
        .filter_map(|arn| revisions::family_of(arn).map(String::from))
        .collect();
    families.sort();
    families.dedup();
    families
}

#[tokio::test]
async fn a_namespace_is_a_cloud_map_record_and_its_functions_get_aws_names_of_their_own() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let team_a = json!({"name": "team-a", "labels": {"openfaas": "1"}, "annotations": {"cost-centre": "42"}});
    assert_eq!(create(&p, team_a.clone()).await.status, StatusCode::CREATED);
    assert_eq!(get(&p, "team-a").await.json(), team_a);
    assert_eq!(
        create(&p, team_a.clone()).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        deploy(&p, echo_in("openfaas-fn", "cat")).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        deploy(&p, echo_in("team-a", "cat")).await.status,
        StatusCode::ACCEPTED
    );

    assert!(service(&account, "echo").await.is_some());
    assert!(service(&account, "team-a_echo").await.is_some());
    assert_eq!(
        families(&account).await,
        ["openfaas-fn_echo", "team-a_echo"]
    );
    assert_eq!(
        registered(&account).await,
        [
            ("_namespace.team-a".to_string(), true),
            ("echo".to_string(), false),
            ("echo.team-a".to_string(), false)
        ]
    );
    let a = call(&p, Method::GET, "/system/function/echo.team-a", None)
        .await
        .json();
    assert_eq!(a["namespace"], "team-a");

    // A description longer than Cloud Map keeps is refused before any change.
    let big = json!({"name": "team-a", "annotations": {"notes": "x".repeat(1100)}});
    let a = put(&p, "team-a", big).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("1024"), "{}", a.text());
    assert_eq!(get(&p, "team-a").await.json(), team_a);

    // Not while it holds a function; then it goes, and its record with it.
    let busy = delete(&p, "team-a").await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.text());
    let gone = json!({"functionName": "echo", "namespace": "team-a"});
    let a = call(&p, Method::DELETE, "/system/functions", Some(gone)).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(delete(&p, "team-a").await.status, StatusCode::ACCEPTED);
    assert_eq!(names(&p).await, json!(["openfaas-fn"]));
    let left = registered(&account).await;
    assert!(!left.iter().any(|(n, _)| n.contains("team-a")), "{left:?}");
    assert!(service(&account, "team-a_echo").await.is_none());
    assert!(service(&account, "echo").await.is_some());
}

#[tokio::test]
async fn namespaces_survive_a_restart_reach_a_second_replica_and_outlive_the_collector() {
    needs_emulator!();
    let account = Account::new().await;
    let config = account.config();
    let first = account.backend_with(&config).await;
    let second = account.backend_with(&config).await;
    let p = TestApp::on(first.clone()).router();
    let team_a = json!({"name": "team-a", "labels": {"openfaas": "1"}});
    assert_eq!(create(&p, team_a.clone()).await.status, StatusCode::CREATED);
    assert_eq!(
        deploy(&p, echo_in("team-a", "cat")).await.status,
        StatusCode::ACCEPTED
    );
    let changed = json!({"name": "team-a", "labels": {"openfaas": "1", "tier": "gold"}});
    assert_eq!(
        put(&p, "team-a", changed.clone()).await.status,
        StatusCode::ACCEPTED
    );

    // A second replica that has not refreshed yet asks AWS about a namespace it does not know,
    // so a create on one replica and a deploy on the other a moment later both work.
    let ns = Namespace::parse("team-a").unwrap();
    assert!(!second.has_namespace(&ns));
    let second_api = TestApp::on(second.clone()).router();
    assert_eq!(get(&second_api, "team-a").await.json(), changed);
    assert!(second.has_namespace(&ns));
    // A removal asks ECS, not the cache (which does not have the function before the refresh).
    let refused = second.delete_namespace(&ns).await.unwrap_err();
    assert!(
        refused.to_string().contains("1 function and 0 secrets;"),
        "{refused}"
    );
    second.refresh().await.unwrap();
    assert!(second.has_namespace(&ns));
    assert_eq!(second.list(&ns).await.unwrap().len(), 1);
    let other = json!({"service": "other", "namespace": "team-a", "image": "x:1"});
    assert_eq!(
        deploy(&second_api, other).await.status,
        StatusCode::ACCEPTED
    );

    // A provider started afresh loses nothing.
    drop(p);
    drop(first);
    let restarted = TestApp::on(account.backend_with(&config).await).router();
    assert_eq!(names(&restarted).await, json!(["openfaas-fn", "team-a"]));
    assert_eq!(get(&restarted, "team-a").await.json(), changed);
    let a = call(
        &restarted,
        Method::GET,
        "/system/function/echo.team-a",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);

    // A namespace AWS did not have is answered as missing from memory for a second (requests
    // naming it do not each become an AWS call), then AWS is asked again.
    let team_b = Namespace::parse("team-b").unwrap();
    let asked = std::time::Instant::now();
    assert!(!second.find_namespace(&team_b).await.unwrap());
    assert_eq!(
        create(&restarted, json!({"name": "team-b"})).await.status,
        StatusCode::CREATED
    );
    if asked.elapsed() < Duration::from_millis(900) {
        assert!(!second.find_namespace(&team_b).await.unwrap());
    }
    // Then AWS is asked again.
    eventually(
        "team-b found once the memory of its absence ends",
        Duration::from_secs(10),
        async || second.find_namespace(&team_b).await.unwrap(),
    )
    .await;

    // The collector removes Cloud Map services no function uses, but not a namespace's record.
    second.collect_garbage(Duration::ZERO).await.unwrap();
    second.refresh().await.unwrap();
    assert!(second.has_namespace(&ns));
    assert!(
        registered(&account)
            .await
            .iter()
            .any(|(n, _)| n == "_namespace.team-a")
    );
}
