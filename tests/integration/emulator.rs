//! The ECS backend against the moto emulator: every change checked in the emulator itself.
//! moto differs from AWS in ways the backend handles as AWS behaves (deleted services are still
//! listed as INACTIVE; running counts stay 0 until an UpdateService).

use aws_sdk_ecs::types::{ServiceField, TaskDefinitionField, TaskDefinitionStatus};
use axum::http::{Method, StatusCode};
use faas_ecs::backend::FunctionBackend;
use faas_ecs::model::Namespace;
use serde_json::json;

use faas_ecs::backend::ecs::EcsBackend;

use crate::support::{
    Account, TestApp, call, deploy, echo, function_id, no_endpoints, remove, scale, status, update,
};

pub(crate) async fn service(account: &Account, name: &str) -> Option<aws_sdk_ecs::types::Service> {
    let out = account
        .aws
        .ecs
        .describe_services()
        .cluster(&account.cluster)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await
        .unwrap();
    out.services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
        .cloned()
}

pub(crate) async fn task_definition(
    account: &Account,
    arn: &str,
) -> aws_sdk_ecs::types::TaskDefinition {
    account
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone()
}

pub(crate) async fn active_revisions(account: &Account) -> Vec<String> {
    account
        .aws
        .ecs
        .list_task_definitions()
        .status(TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .to_vec()
}

pub(crate) async fn cloudmap_services(
    account: &Account,
) -> Vec<aws_sdk_servicediscovery::types::ServiceSummary> {
    account
        .aws
        .servicediscovery
        .list_services()
        .send()
        .await
        .unwrap()
        .services()
        .to_vec()
}

#[tokio::test]
async fn deploy_makes_a_task_definition_a_cloud_map_service_and_an_ecs_service() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let mut body = echo();
    body["envVars"] = json!({"A": "1"});
    let a = deploy(&p, body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());

    let svc = service(&account, "echo").await.expect("ECS service");
    assert_eq!(svc.desired_count(), 1);
    assert!(
        svc.tags()
            .iter()
            .any(|t| t.key() == Some("managed-by") && t.value() == Some("faas-ecs"))
    );
    let network = svc
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(network.subnets(), std::slice::from_ref(&account.subnet));
    assert_eq!(
        network.security_groups(),
        std::slice::from_ref(&account.security_group)
    );

    let td = task_definition(&account, svc.task_definition().unwrap()).await;
    assert_eq!(td.family(), Some("openfaas-fn_echo"));
    assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));
    let c = &td.container_definitions()[0];
    assert_eq!(c.image(), Some("ghcr.io/openfaas/alpine:latest"));
    let env: Vec<_> = c
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert_eq!(env, [("A", "1"), ("fprocess", "cat")]);
    assert_eq!(c.port_mappings()[0].container_port(), Some(8080));

    let registries = svc.service_registries();
    assert_eq!(registries.len(), 1);
    let cm = cloudmap_services(&account).await;
    assert_eq!(cm.len(), 1);
    assert_eq!(cm[0].name(), Some("echo"));
    assert_eq!(registries[0].registry_arn(), cm[0].arn());
    let record = &cm[0].dns_config().unwrap().dns_records()[0];
    assert_eq!(record.r#type().as_str(), "A");
    assert!(cm[0].health_check_custom_config().is_some());
}

#[tokio::test]
async fn status_round_trips_what_was_deployed() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let body = json!({
        "service": "tiny", "image": "Docker.io/Library/Alpine", "namespace": "openfaas-fn",
        "envProcess": "env", "envVars": {}, "constraints": ["node.platform.os == linux", "kubernetes.io/arch=amd64"], "secrets": [],
        "labels": {"com.openfaas.scale.min": "2", "team": "x"},
        "annotations": {"topic": "{\n \"a\": \"multi-line, with = and ; and more\"\n}"},
        "limits": {"memory": "5Mi", "cpu": "100m"}, "requests": {"memory": "5Mi"},
        "readOnlyRootFilesystem": true
    });
    let a = deploy(&p, body.clone()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let s = status(&p, "tiny").await.json();
    for field in [
        "image",
        "namespace",
        "envProcess",
        "envVars",
        "constraints",
        "secrets",
        "annotations",
        "limits",
        "requests",
        "readOnlyRootFilesystem",
    ] {
        assert_eq!(s[field], body[field], "{field}");
    }
    assert_eq!(
        s["labels"],
        json!({"com.openfaas.scale.min": "2", "team": "x", "faas_function": "tiny"})
    );
    assert_eq!(s["replicas"], 2, "scale.min sets the first desired count");
    assert!(s["availableReplicas"].as_u64().unwrap() <= 2);
    assert!(s["createdAt"].as_str().unwrap().contains('T'));

    // Fargate rounds the task up; the function keeps its own limit.
    let svc = service(&account, "tiny").await.unwrap();
    let td = task_definition(&account, svc.task_definition().unwrap()).await;
    assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));
    assert_eq!(td.container_definitions()[0].memory(), Some(6));

    // A plain deploy keeps absent fields absent.
    deploy(&p, echo()).await;
    let s = status(&p, "echo").await.json();
    for absent in ["envVars", "limits", "requests", "constraints", "secrets"] {
        assert!(s.get(absent).is_none(), "{absent}: {s}");
    }
}

#[tokio::test]
async fn update_moves_to_a_new_revision_and_keeps_the_desired_count() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    deploy(&p, echo()).await;
    let a = scale(&p, "echo", 3).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let mut body = echo();
    body["image"] = json!("ghcr.io/openfaas/alpine:3.20");
    let a = update(&p, body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());

    let s = status(&p, "echo").await.json();
    assert_eq!(s["image"], "ghcr.io/openfaas/alpine:3.20");
    assert_eq!(s["replicas"], 3);
    let svc = service(&account, "echo").await.unwrap();
    assert_eq!(svc.desired_count(), 3);
    assert!(
        svc.task_definition()
            .unwrap()
            .ends_with("openfaas-fn_echo:2")
    );
    let td = task_definition(&account, svc.task_definition().unwrap()).await;
    assert_eq!(
        td.container_definitions()[0].image(),
        Some("ghcr.io/openfaas/alpine:3.20")
    );
}

#[tokio::test]
async fn scale_sets_the_desired_count_including_zero() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    deploy(&p, echo()).await;
    for replicas in [3i32, 0] {
        let a = scale(&p, "echo", replicas.unsigned_abs().into()).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        assert_eq!(
            service(&account, "echo").await.unwrap().desired_count(),
            replicas
        );
        let s = status(&p, "echo").await.json();
        assert_eq!(s["replicas"], replicas);
        assert!(s["availableReplicas"].as_i64().unwrap() <= i64::from(replicas));
    }
}

#[tokio::test]
async fn delete_leaves_nothing_behind() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    deploy(&p, echo()).await;
    update(&p, echo()).await;
    assert_eq!(active_revisions(&account).await.len(), 2);
    let a = remove(&p, "echo").await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());

    assert!(service(&account, "echo").await.is_none());
    assert!(active_revisions(&account).await.is_empty());
    assert!(cloudmap_services(&account).await.is_empty());
    assert_eq!(status(&p, "echo").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        call(&p, Method::GET, "/system/functions", None)
            .await
            .json(),
        json!([])
    );
    // The name can be used again.
    assert_eq!(deploy(&p, echo()).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn bad_input_makes_no_aws_resource() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let a = deploy(&p, json!({"service": "Bad_Name", "image": "i"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let huge = json!({"service": "huge", "image": "i", "limits": {"memory": "1Ti"}});
    assert_eq!(deploy(&p, huge).await.status, StatusCode::BAD_REQUEST);
    assert!(active_revisions(&account).await.is_empty());
    assert!(cloudmap_services(&account).await.is_empty());
    let services = account
        .aws
        .ecs
        .list_services()
        .cluster(&account.cluster)
        .send()
        .await
        .unwrap();
    assert!(services.service_arns().is_empty());
}

#[tokio::test]
async fn unknown_functions_are_404_for_every_change() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    assert_eq!(update(&p, echo()).await.status, StatusCode::NOT_FOUND);
    let a = scale(&p, "echo", 1).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = remove(&p, "echo").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(
        active_revisions(&account).await.is_empty(),
        "a PUT of an unknown function registers nothing"
    );
}

#[tokio::test]
async fn names_match_exactly_and_foreign_services_are_ignored() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    for name in ["foo", "foobar"] {
        let a = deploy(&p, json!({"service": name, "image": "i"})).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }
    // A service someone else runs in the same cluster.
    let td = account
        .aws
        .ecs
        .register_task_definition()
        .family("other")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("o")
                .image("o")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();
    account
        .aws
        .ecs
        .create_service()
        .cluster(&account.cluster)
        .service_name("fo")
        .task_definition(td.task_definition().unwrap().task_definition_arn().unwrap())
        .desired_count(1)
        .send()
        .await
        .unwrap();

    let a = remove(&p, "foo").await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let a = remove(&p, "fo").await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "a service faas-ecs did not make is not a function"
    );
    assert!(service(&account, "foobar").await.is_some());
    assert!(service(&account, "fo").await.is_some());

    // A fresh provider reads the cluster from ECS, not from memory.
    let fresh = account.provider().await;
    let names: Vec<_> = call(&fresh, Method::GET, "/system/functions", None)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("foobar")]);
    let revisions = active_revisions(&account).await;
    assert!(
        revisions.iter().any(|r| r.contains("openfaas-fn_foobar:")),
        "{revisions:?}"
    );
    assert!(
        !revisions.iter().any(|r| r.contains("openfaas-fn_foo:")),
        "{revisions:?}"
    );
}

#[tokio::test]
async fn a_restarted_provider_loses_nothing() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let mut body = echo();
    body["annotations"] = json!({"note": "kept"});
    deploy(&p, body).await;
    scale(&p, "echo", 2).await;
    let before = status(&p, "echo").await.json();
    drop(p);
    let restarted = account.provider().await;
    let after = status(&restarted, "echo").await.json();
    assert_eq!(before["annotations"], after["annotations"]);
    assert_eq!(before["replicas"], after["replicas"]);
    assert_eq!(before["image"], after["image"]);
    assert_eq!(before["createdAt"], after["createdAt"]);
}

#[tokio::test]
async fn a_second_replica_sees_and_changes_what_the_first_deployed() {
    needs_emulator!();
    let account = Account::new().await;
    let first = account.provider().await;
    let second = account.provider().await;
    deploy(&first, echo()).await;
    // Not yet in the second replica's cache: found by a lookup in ECS.
    let a = status(&second, "echo").await;
    assert_eq!(a.status, StatusCode::OK);
    let mut body = echo();
    body["image"] = json!("img:2");
    assert_eq!(update(&second, body).await.status, StatusCode::ACCEPTED);
    assert_eq!(deploy(&first, echo()).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_refresh_brings_in_changes_made_elsewhere() {
    needs_emulator!();
    let account = Account::new().await;
    let config = account.config();
    let first = account.backend_with(&config).await;
    let second = account.backend_with(&config).await;
    let p = TestApp::on(first).router();
    deploy(&p, echo()).await;
    scale(&p, "echo", 4).await;
    second.refresh().await.unwrap();
    let status = second.get(&function_id("echo")).await.unwrap().unwrap();
    assert_eq!(status.replicas, 4);
    remove(&p, "echo").await;
    second.refresh().await.unwrap();
    assert!(
        second
            .list(&Namespace::default_namespace())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_deploy_that_fails_half_way_leaves_nothing() {
    needs_emulator!();
    let account = Account::new().await;
    let mut config = account.config();
    // ECS refuses to create a service in a subnet that does not exist, after the task
    // definition and the Cloud Map service were made.
    config.functions.subnets.0 = vec!["subnet-0000000000000000f".into()];
    let backend = account.backend_with(&config).await;
    let p = TestApp::on(backend).router();
    let a = deploy(&p, echo()).await;
    assert!(
        a.status.is_server_error() || a.status.is_client_error(),
        "{}",
        a.status
    );
    assert!(
        !a.text().contains("subnet-0000000000000000f"),
        "raw AWS text is not the message: {}",
        a.text()
    );
    assert!(service(&account, "echo").await.is_none());
    assert!(
        cloudmap_services(&account).await.is_empty(),
        "Cloud Map service rolled back"
    );
    assert!(
        active_revisions(&account).await.is_empty(),
        "task definition rolled back"
    );
    assert_eq!(status(&p, "echo").await.status, StatusCode::NOT_FOUND);

    // With the right subnet the same deploy goes through.
    let fixed = account.provider().await;
    assert_eq!(deploy(&fixed, echo()).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn secrets_live_in_secrets_manager_and_never_in_a_task_definition() {
    needs_emulator!();
    let account = Account::new().await;
    let mut config = account.config();
    config.functions.secrets_image = Some("faas-ecs:test".into());
    let p = TestApp::on(account.backend_with(&config).await).router();
    let value = "s3cret-value-not-for-task-definitions";
    let a = call(
        &p,
        Method::POST,
        "/system/secrets",
        Some(json!({"name": "api-key", "value": value})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    // Someone else's secret under the same prefix is neither listed nor touched.
    let sm = &account.aws.secretsmanager;
    sm.create_secret()
        .name("openfaas/openfaas-fn/foreign")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let names = call(&p, Method::GET, "/system/secrets", None).await.json();
    assert_eq!(
        names,
        json!([{"name": "api-key", "namespace": "openfaas-fn"}])
    );
    let a = call(
        &p,
        Method::DELETE,
        "/system/secrets",
        Some(json!({"name": "foreign"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let stored = sm
        .describe_secret()
        .secret_id("openfaas/openfaas-fn/api-key")
        .send()
        .await
        .unwrap();
    assert!(
        stored
            .tags()
            .iter()
            .any(|t| t.key() == Some("managed-by") && t.value() == Some("faas-ecs"))
    );

    let mut body = echo();
    body["secrets"] = json!(["api-key"]);
    let a = deploy(&p, body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let svc = service(&account, "echo").await.unwrap();
    let td = task_definition(&account, svc.task_definition().unwrap()).await;
    let init = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some("openfaas-secrets"))
        .unwrap();
    assert_eq!(Some(init.secrets()[0].value_from()), stored.arn());
    assert!(
        !format!("{td:?}").contains(value),
        "no secret value in the task definition"
    );
    let s = status(&p, "echo").await.json();
    assert_eq!(s["secrets"], json!(["api-key"]));

    let a = call(
        &p,
        Method::DELETE,
        "/system/secrets",
        Some(json!({"name": "api-key"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        call(&p, Method::GET, "/system/secrets", None).await.json(),
        json!([])
    );
    // Deleted without a recovery window, so the name can be used again at once.
    let a = call(
        &p,
        Method::POST,
        "/system/secrets",
        Some(json!({"name": "api-key", "value": "v2"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
}

#[tokio::test]
async fn logs_that_cloudwatch_cannot_serve_are_a_5xx_not_an_empty_200() {
    needs_emulator!();
    let account = Account::new().await;
    // CloudWatch Logs unreachable: nothing listens where its client is sent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = faas_ecs::aws::loader()
        .region("us-east-1")
        .endpoint_url(format!("http://{closed}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let mut aws = account.aws.clone();
    aws.logs = aws_sdk_cloudwatchlogs::Client::new(&unreachable);
    let settings = account.config().ecs_settings("us-east-1");
    let backend = EcsBackend::start(aws, settings, no_endpoints())
        .await
        .unwrap();
    let p = TestApp::on(backend).router();
    for query in ["name=echo", "name=echo&follow=true"] {
        let a = call(&p, Method::GET, &format!("/system/logs?{query}"), None).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{query}");
    }
}

#[tokio::test]
async fn logs_hold_the_function_s_own_streams_only() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let logs = &account.aws.logs;
    logs.create_log_group()
        .log_group_name("/openfaas/functions")
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (stream, text) in [
        ("foo/foo/task1", "foo's own line"),
        ("foo/openfaas-secrets/task1", "the secrets container"),
        ("foobar/foobar/task2", "another function"),
    ] {
        logs.create_log_stream()
            .log_group_name("/openfaas/functions")
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        logs.put_log_events()
            .log_group_name("/openfaas/functions")
            .log_stream_name(stream)
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now)
                    .message(text)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let a = call(&p, Method::GET, "/system/logs?name=foo", None).await;
    assert_eq!(a.status, StatusCode::OK);
    let lines: Vec<serde_json::Value> = a
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["text"], "foo's own line");
    assert_eq!(lines[0]["instance"], "task1");
    let a = call(
        &p,
        Method::GET,
        "/system/logs?name=foo&instance=task9",
        None,
    )
    .await;
    assert_eq!(a.text(), "");
}

#[tokio::test]
async fn cloud_map_services_left_behind_are_collected() {
    needs_emulator!();
    let account = Account::new().await;
    let backend = account.backend_with(&account.config()).await;
    let p = TestApp::on(backend.clone()).router();
    deploy(&p, echo()).await;
    let sd = &account.aws.servicediscovery;
    let tag = |k: &str, v: &str| {
        aws_sdk_servicediscovery::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    let dns = || {
        aws_sdk_servicediscovery::types::DnsConfig::builder()
            .dns_records(
                aws_sdk_servicediscovery::types::DnsRecord::builder()
                    .r#type(aws_sdk_servicediscovery::types::RecordType::A)
                    .ttl(5)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    // One left by a provider stopped half-way through a delete, and one someone else runs there.
    for (name, tags) in [
        ("orphan", vec![tag("managed-by", "faas-ecs")]),
        ("gateway", vec![]),
    ] {
        sd.create_service()
            .name(name)
            .namespace_id(&account.namespace_id)
            .dns_config(dns())
            .set_tags(Some(tags))
            .send()
            .await
            .unwrap();
    }
    backend
        .collect_garbage(std::time::Duration::ZERO)
        .await
        .unwrap();
    let mut left: Vec<String> = cloudmap_services(&account)
        .await
        .iter()
        .map(|s| s.name().unwrap().to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["echo", "gateway"]);
    // A young one may belong to a deploy under way.
    sd.create_service()
        .name("young")
        .namespace_id(&account.namespace_id)
        .dns_config(dns())
        .tags(tag("managed-by", "faas-ecs"))
        .send()
        .await
        .unwrap();
    backend
        .collect_garbage(std::time::Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(cloudmap_services(&account).await.len(), 3);
}

#[tokio::test]
async fn task_definitions_left_by_a_crash_are_collected() {
    needs_emulator!();
    let account = Account::new().await;
    let backend = account.backend_with(&account.config()).await;
    let p = TestApp::on(backend.clone()).router();
    for name in ["kept", "orphan"] {
        let a = deploy(&p, json!({"service": name, "image": "i"})).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }
    // A provider killed between RegisterTaskDefinition and CreateService leaves a family with no
    // service: here, the service goes behind the provider's back.
    let ecs = &account.aws.ecs;
    ecs.delete_service()
        .cluster(&account.cluster)
        .service("orphan")
        .force(true)
        .send()
        .await
        .unwrap();
    // A family of the same shape that is not ours.
    ecs.register_task_definition()
        .family("openfaas-fn_foreign")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("f")
                .image("f")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let families = |revisions: Vec<String>| {
        let mut f: Vec<String> = revisions
            .iter()
            .map(|a| {
                a.rsplit('/')
                    .next()
                    .unwrap()
                    .rsplit_once(':')
                    .unwrap()
                    .0
                    .to_string()
            })
            .collect();
        f.sort();
        f
    };
    // Young: it may belong to a deploy under way.
    backend
        .collect_garbage(std::time::Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(
        families(active_revisions(&account).await),
        [
            "openfaas-fn_foreign",
            "openfaas-fn_kept",
            "openfaas-fn_orphan"
        ]
    );
    backend
        .collect_garbage(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        families(active_revisions(&account).await),
        ["openfaas-fn_foreign", "openfaas-fn_kept"]
    );
    assert_eq!(status(&p, "kept").await.status, StatusCode::OK);
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == wanted).count()
}

#[tokio::test]
async fn simultaneous_changes_of_one_name_are_made_one_at_a_time() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    let deploys = (0..20).map(|_| async { deploy(&p, echo()).await.status });
    let statuses = futures::future::join_all(deploys).await;
    assert_eq!(count(&statuses, StatusCode::ACCEPTED), 1, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::CONFLICT), 19, "{statuses:?}");
    assert_eq!(active_revisions(&account).await.len(), 1);
    assert_eq!(cloudmap_services(&account).await.len(), 1);

    let deletes = (0..10).map(|_| async { remove(&p, "echo").await.status });
    let statuses = futures::future::join_all(deletes).await;
    assert_eq!(count(&statuses, StatusCode::ACCEPTED), 1, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::NOT_FOUND), 9, "{statuses:?}");
    assert!(service(&account, "echo").await.is_none());
    assert!(active_revisions(&account).await.is_empty());
    assert!(cloudmap_services(&account).await.is_empty());
}

/// What a function's resources must look like after any mix of changes: a live function has
/// one Cloud Map service, the one its ECS service uses; a deleted one leaves nothing.
async fn consistent(account: &Account) {
    let registries = cloudmap_services(account).await;
    match service(account, "echo").await {
        Some(svc) => {
            let used = svc.service_registries()[0].registry_arn().unwrap();
            let arns: Vec<_> = registries.iter().filter_map(|r| r.arn()).collect();
            assert_eq!(arns, [used], "exactly the Cloud Map service in use");
        }
        None => {
            assert!(registries.is_empty(), "{registries:?}");
            assert!(active_revisions(account).await.is_empty());
        }
    }
}

#[tokio::test]
async fn mixed_changes_of_one_name_leave_no_strays() {
    needs_emulator!();
    let account = Account::new().await;
    let p = account.provider().await;
    for round in 0..3 {
        let changes = (0..4u64).map(|i| {
            let p = p.clone();
            async move {
                let mut body = echo();
                body["image"] = json!(format!("img:{round}-{i}"));
                let statuses = [
                    deploy(&p, body.clone()).await.status,
                    update(&p, body).await.status,
                    scale(&p, "echo", i).await.status,
                    remove(&p, "echo").await.status,
                ];
                for s in statuses {
                    assert!(
                        [
                            StatusCode::OK,
                            StatusCode::ACCEPTED,
                            StatusCode::CONFLICT,
                            StatusCode::NOT_FOUND
                        ]
                        .contains(&s),
                        "{s}"
                    );
                }
            }
        });
        futures::future::join_all(changes).await;
        consistent(&account).await;
    }
}
