//! The HTTP API as clients see it, on the in-memory backend.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use faas_ecs::auth::Credentials;
use faas_ecs::backend::memory::MemoryBackend;
use serde_json::json;

use crate::support::{TestApp, call, call_raw, deploy, echo, remove, scale, status, update};

fn provider() -> Router {
    TestApp::init().router()
}

fn provider_with_auth() -> Router {
    TestApp::init()
        .with_auth(Credentials::new("admin", "pw"))
        .router()
}

#[tokio::test]
async fn list_is_an_empty_array_at_first() {
    let a = call(&provider(), Method::GET, "/system/functions", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!([]));
}

#[tokio::test]
async fn deploy_then_get_then_list() {
    let p = provider();
    assert_eq!(deploy(&p, echo()).await.status, StatusCode::ACCEPTED);
    let a = status(&p, "echo").await;
    assert_eq!(a.status, StatusCode::OK);
    let s = a.json();
    assert_eq!(s["name"], "echo");
    assert_eq!(s["namespace"], "openfaas-fn");
    assert_eq!(s["replicas"], 1);
    assert_eq!(s["labels"]["faas_function"], "echo");
    assert_eq!(s["annotations"], json!({}));
    let list = call(&p, Method::GET, "/system/functions", None)
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn status_of_unknown_function_is_404_with_empty_body() {
    let a = status(&provider(), "nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn update_of_unknown_function_is_404() {
    let a = update(&provider(), echo()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deploy_of_existing_function_is_409() {
    let p = provider();
    deploy(&p, echo()).await;
    assert_eq!(deploy(&p, echo()).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_input_is_400_with_a_reason() {
    let p = provider();
    for (body, reason) in [
        (
            json!({"service": "Bad_Name", "image": "i"}),
            "function name",
        ),
        (json!({"service": "ok", "image": ""}), "image"),
        (json!({"image": "i"}), "service"),
        (
            json!({"service": "ok", "image": "i", "limits": {"memory": "lots"}}),
            "limits.memory",
        ),
        (
            json!({"service": "ok", "image": "i", "namespace": "Bad_Ns"}),
            "namespace",
        ),
        (
            json!({"service": "ok", "image": "i", "labels": {"com.openfaas.scale.min": "x"}}),
            "scale.min",
        ),
        (
            json!({"service": "ok", "image": "i", "labels": {"com.openfaas.scale.min": "2147483648"}}),
            "scale.min",
        ),
        (
            json!({"service": "ok", "image": "i", "labels": {"com.openfaas.scale.max": "501"}}),
            "scale.max",
        ),
        (
            json!({"service": "ok", "image": "i", "labels": {"com.openfaas.scale.type": "cpu"}}),
            "rps or capacity",
        ),
        (
            json!({"service": "ok", "image": "i", "labels": {"com.openfaas.scale.zero-duration": "soon"}}),
            "zero-duration",
        ),
    ] {
        let a = deploy(&p, body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(a.text().contains(reason), "{body}: {}", a.text());
    }
    let a = call_raw(
        &p,
        Request::post("/system/functions")
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        call(&p, Method::GET, "/system/functions", None)
            .await
            .json(),
        json!([])
    );
}

#[tokio::test]
async fn contradictory_scaling_labels_are_400_naming_them_and_one_rule_reads_every_label() {
    let p = provider();
    for (labels, reason) in [
        (
            json!({"com.openfaas.scale.min": "5", "com.openfaas.scale.max": "2"}),
            "com.openfaas.scale.max must not be below com.openfaas.scale.min",
        ),
        (
            json!({"com.openfaas.scale.max": "0"}),
            "com.openfaas.scale.max must be at least 1",
        ),
    ] {
        let a = deploy(&p, json!({"service": "ok", "image": "i", "labels": labels})).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{labels}");
        assert!(a.text().contains(reason), "{labels}: {}", a.text());
    }
    assert_eq!(status(&p, "ok").await.status, StatusCode::NOT_FOUND);
    // Blanks around a value are read the same way for every scaling label, the minimum included.
    let labels = json!({"com.openfaas.scale.min": " 2", "com.openfaas.scale.max": " 3",
                        "com.openfaas.scale.target": " 4", "com.openfaas.scale.factor": " 20"});
    let a = deploy(&p, json!({"service": "ok", "image": "i", "labels": labels})).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    assert_eq!(status(&p, "ok").await.json()["replicas"], 2);
}

#[tokio::test]
async fn a_query_and_a_body_naming_different_namespaces_are_400_and_change_nothing() {
    let p = provider();
    for ns in ["a", "b"] {
        let a = call(
            &p,
            Method::POST,
            "/system/namespace/",
            Some(json!({"name": ns})),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED);
        let body = json!({"service": "iso", "image": "i", "namespace": ns});
        assert_eq!(deploy(&p, body).await.status, StatusCode::ACCEPTED);
    }
    let scale = call(
        &p,
        Method::POST,
        "/system/scale-function/iso?namespace=a",
        Some(json!({"serviceName": "iso", "namespace": "b", "replicas": 3})),
    )
    .await;
    assert_eq!(scale.status, StatusCode::BAD_REQUEST, "{}", scale.text());
    assert!(scale.text().contains("\"b\""), "{}", scale.text());
    let remove = call(
        &p,
        Method::DELETE,
        "/system/functions?namespace=a",
        Some(json!({"functionName": "iso", "namespace": "b"})),
    )
    .await;
    assert_eq!(remove.status, StatusCode::BAD_REQUEST);
    for ns in ["a", "b"] {
        let path = format!("/system/function/iso?namespace={ns}");
        let a = call(&p, Method::GET, &path, None).await;
        assert_eq!(a.json()["replicas"], 1, "{ns}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let big =
        json!({"service": "big", "image": "i", "annotations": {"a": "x".repeat(2 * 1024 * 1024)}});
    let a = deploy(&provider(), big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let mut body = echo();
    body["network"] = json!("func_functions");
    body["registryAuth"] = json!("");
    body["labels"] = json!(null);
    let a = deploy(&provider(), body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
}

#[tokio::test]
async fn scale_sets_replicas_and_unknown_is_404() {
    let p = provider();
    deploy(&p, echo()).await;
    let a = scale(&p, "echo", 3).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(status(&p, "echo").await.json()["replicas"], 3);
    let a = scale(&p, "nope", 1).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scale_body_without_a_whole_replicas_count_is_400_and_changes_nothing() {
    let p = provider();
    deploy(&p, echo()).await;
    for body in [
        "{}",
        "[]",
        "[\"echo\", 0]",
        r#"{"replica":3}"#,
        r#"{"replicas":"3"}"#,
        r#"{"replicas":-1}"#,
        "3",
    ] {
        let a = call_raw(
            &p,
            Request::post("/system/scale-function/echo")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
    }
    assert_eq!(status(&p, "echo").await.json()["replicas"], 1);
}

#[tokio::test]
async fn a_dot_with_no_namespace_after_it_is_400_not_the_default_namespace() {
    let p = provider();
    deploy(&p, echo()).await;
    let a = call(&p, Method::GET, "/system/function/echo.", None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("namespace"), "{}", a.text());
    let a = scale(&p, "echo.", 2).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(status(&p, "echo").await.json()["replicas"], 1);
}

#[tokio::test]
async fn secrets_too_large_for_secrets_manager_or_badly_named_are_400() {
    let p = provider();
    for (body, reason) in [
        (json!({"name": "big", "value": "x".repeat(70_000)}), "49152"),
        (
            json!({"name": "big", "rawValue": base64::engine::general_purpose::STANDARD.encode(vec![1u8; 700_000])}),
            "49152",
        ),
        (json!({"name": "a..b", "value": "v"}), "secret name"),
    ] {
        let a = call(&p, Method::POST, "/system/secrets", Some(body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(a.text().contains(reason), "{}", a.text());
    }
    let list = call(&p, Method::GET, "/system/secrets", None).await;
    assert_eq!(list.json(), json!([]));
}

#[tokio::test]
async fn replicas_beyond_the_maximum_are_400() {
    let p = provider();
    deploy(&p, echo()).await;
    let a = scale(&p, "echo", 501).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("FAAS_ECS_MAX_REPLICAS"), "{}", a.text());
    assert_eq!(scale(&p, "echo", 500).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn name_dot_namespace_in_the_path_names_the_namespace() {
    let p = provider();
    deploy(&p, echo()).await;
    assert_eq!(
        call(&p, Method::GET, "/system/function/echo.openfaas-fn", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(
            &p,
            Method::GET,
            "/system/function/echo?namespace=openfaas-fn",
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let other = call(&p, Method::GET, "/system/functions?namespace=other", None).await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "a namespace that does not exist"
    );
}

#[tokio::test]
async fn delete_removes_and_unknown_is_404() {
    let p = provider();
    deploy(&p, echo()).await;
    let a = remove(&p, "echo").await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(status(&p, "echo").await.status, StatusCode::NOT_FOUND);
    let a = remove(&p, "echo").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn info_namespaces_health_and_metrics() {
    let p = provider();
    let info = call(&p, Method::GET, "/system/info", None).await.json();
    assert_eq!(info["provider"], "faas-ecs");
    assert_eq!(info["orchestration"], "ecs");
    assert!(!info["version"]["sha"].as_str().unwrap().is_empty());
    assert!(!info["version"]["release"].as_str().unwrap().is_empty());
    assert_eq!(
        call(&p, Method::GET, "/system/namespaces", None)
            .await
            .json(),
        json!(["openfaas-fn"])
    );
    assert_eq!(
        call(&p, Method::GET, "/healthz", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&p, Method::HEAD, "/healthz", None).await.status,
        StatusCode::OK
    );
    let a = call(&p, Method::GET, "/system/namespace/team-a", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let metrics = call(&p, Method::GET, "/metrics", None).await.text();
    assert!(
        metrics.contains(
            "faas_ecs_http_requests_total{method=\"GET\",path=\"/system/info\",code=\"200\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn basic_auth_guards_system_routes_only() {
    let p = provider_with_auth();
    let a = call(&p, Method::GET, "/system/functions", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.headers[header::WWW_AUTHENTICATE],
        "Basic realm=\"Restricted\""
    );
    let wrong = base64::engine::general_purpose::STANDARD.encode("admin:nope");
    let a = call_raw(
        &p,
        Request::get("/system/functions")
            .header("authorization", format!("Basic {wrong}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let right = base64::engine::general_purpose::STANDARD.encode("admin:pw");
    let a = call_raw(
        &p,
        Request::get("/system/functions")
            .header("authorization", format!("Basic {right}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // The load a replica publishes for the others is behind the same credentials.
    assert_eq!(
        call(&p, Method::GET, "/system/scaling", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = call_raw(
        &p,
        Request::get("/system/scaling")
            .header("authorization", format!("Basic {right}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["functions"], json!([]));
    for open in ["/healthz", "/metrics"] {
        assert_eq!(
            call(&p, Method::GET, open, None).await.status,
            StatusCode::OK,
            "{open}"
        );
    }
    // The gateway sends credentials on the namespace routes too; they change things now.
    assert_eq!(
        call(&p, Method::GET, "/system/namespace/x", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn secrets_are_listed_by_name_only_and_changes_answer_as_clients_expect() {
    let p = provider();
    let create = |body| call(&p, Method::POST, "/system/secrets", Some(body));
    assert_eq!(
        create(json!({"name": "db", "value": "hunter2"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        create(json!({"name": "raw", "rawValue": "AAEC"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        create(json!({"name": "db", "value": "again"})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        create(json!({"name": "Bad_Name", "value": "x"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create(json!({"name": "bad-raw", "rawValue": "%%%"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let list = call(&p, Method::GET, "/system/secrets", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.json(),
        json!([{"name": "db", "namespace": "openfaas-fn"}, {"name": "raw", "namespace": "openfaas-fn"}])
    );
    assert!(!list.text().contains("hunter2"));
    let a = call(
        &p,
        Method::PUT,
        "/system/secrets",
        Some(json!({"name": "db", "value": "new"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(
        &p,
        Method::PUT,
        "/system/secrets",
        Some(json!({"name": "nope", "value": "x"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = call(
        &p,
        Method::DELETE,
        "/system/secrets",
        Some(json!({"name": "nope"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = call(
        &p,
        Method::DELETE,
        "/system/secrets",
        Some(json!({"name": "raw"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        call(&p, Method::GET, "/system/secrets", None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_function_with_an_unknown_secret_is_refused() {
    let p = provider();
    let mut body = echo();
    body["secrets"] = json!(["missing"]);
    let a = deploy(&p, body).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("missing"), "{}", a.text());
    assert_eq!(
        call(&p, Method::GET, "/system/functions", None)
            .await
            .json(),
        json!([])
    );
}

#[tokio::test]
async fn logs_are_ndjson_and_bad_parameters_are_422() {
    let backend = Arc::new(MemoryBackend::new());
    for (i, text) in ["Forking fprocess.", "Wrote 2 Bytes"].iter().enumerate() {
        backend.record_log(faas_ecs::model::LogMessage {
            name: "echo".into(),
            namespace: "openfaas-fn".into(),
            instance: "task1".into(),
            timestamp: format!("2026-11-26T10:00:0{i}.000000001Z"),
            text: text.to_string(),
        });
    }
    let p = TestApp::on(backend).router();
    let a = call(&p, Method::GET, "/system/logs?name=echo&tail=1", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/x-ndjson");
    let lines: Vec<serde_json::Value> = a
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["text"], "Wrote 2 Bytes");
    assert_eq!(lines[0]["instance"], "task1");
    assert_eq!(
        call(&p, Method::GET, "/system/logs?name=echo", None)
            .await
            .text()
            .lines()
            .count(),
        2
    );
    for bad in [
        "/system/logs",
        "/system/logs?name=echo&tail=x",
        "/system/logs?name=echo&follow=maybe",
        "/system/logs?name=echo&since=yesterday",
        "/system/logs?name=echo&name=other",
    ] {
        assert_eq!(
            call(&p, Method::GET, bad, None).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
}
