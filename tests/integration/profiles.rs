//! Profiles, service accounts, constraints and health annotations on the emulator: what ECS
//! receives is read back from the emulator where it keeps it, and from the request as sent where
//! moto 5.2.5 drops it (a service's capacity provider strategy and placement; EMULATOR.md).

use aws_sdk_ecs::types::{
    CpuArchitecture, OsFamily, ResourceType, ServiceField, TaskDefinitionField,
};
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::emulator::{active_revisions, cloudmap_services, service, task_definition};
use crate::support::{Account, TestApp, deploy, echo, scale, status, update};

const READER: &str = "arn:aws:iam::123456789012:role/reads-one-bucket";

/// A provider with a Spot, a Graviton, a database-network, a disk and a GPU profile, and one
/// service account.
async fn provider(account: &Account, db_group: &str) -> Router {
    let profiles = json!({
        "spot": {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
        "graviton": {"runtimePlatform": {"cpuArchitecture": "ARM64"}},
        "db": {"securityGroups": [db_group]},
        "disk": {"ephemeralStorageGiB": 50},
        "gpu": {"launchType": "EC2", "gpu": 1,
                "placementConstraints": ["attribute:ecs.instance-type =~ g5.*"],
                "placementStrategy": [{"type": "binpack", "field": "memory"}]},
    });
    let accounts = json!({"reader": READER});
    let config = account.config_with(&[
        format!("--profiles={profiles}"),
        format!("--service-accounts={accounts}"),
    ]);
    TestApp::on(account.backend_with(&config).await).router()
}

fn with(annotations: Value, constraints: Value) -> Value {
    let mut body = echo();
    body["annotations"] = annotations;
    body["constraints"] = constraints;
    body
}

async fn task_definition_of(account: &Account, name: &str) -> aws_sdk_ecs::types::TaskDefinition {
    let svc = service(account, name).await.expect("service");
    task_definition(account, svc.task_definition().unwrap()).await
}

fn tag<'a>(tags: &'a [aws_sdk_ecs::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test]
async fn each_profile_field_reaches_ecs() {
    needs_emulator!();
    let account = Account::new().await;
    let db = account.security_group("database").await;
    let p = provider(&account, &db).await;
    let body = with(
        json!({
            "com.openfaas.profile": "spot,graviton,db,disk",
            "com.openfaas.serviceaccount": "reader",
            "com.openfaas.health.http.path": "/ready",
            "com.openfaas.health.http.initialDelay": "30s",
        }),
        json!([]),
    );
    let a = deploy(&p, body.clone()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());

    let td = task_definition_of(&account, "echo").await;
    let platform = td.runtime_platform().expect("runtime platform");
    assert_eq!(platform.cpu_architecture(), Some(&CpuArchitecture::Arm64));
    assert_eq!(platform.operating_system_family(), Some(&OsFamily::Linux));
    assert_eq!(td.ephemeral_storage().map(|e| e.size_in_gib()), Some(50));
    assert_eq!(td.task_role_arn(), Some(READER));
    let check = td.container_definitions()[0].health_check().unwrap();
    assert!(
        check
            .command()
            .join(" ")
            .contains("http://127.0.0.1:8080/ready")
    );
    assert_eq!(check.start_period(), Some(30));
    let out = account
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(td.task_definition_arn().unwrap())
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(tag(out.tags(), "openfaas:profile:spot"), Some("1"));
    assert_eq!(tag(out.tags(), "openfaas:profile:disk"), Some("4"));
    assert_eq!(tag(out.tags(), "openfaas:serviceaccount"), Some("reader"));

    let svc = service(&account, "echo").await.unwrap();
    let network = svc
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(network.security_groups(), std::slice::from_ref(&db));
    assert_eq!(tag(svc.tags(), "openfaas:profile:graviton"), Some("2"));

    let created = account.sent("CreateService");
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0]["capacityProviderStrategy"],
        json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    );
    assert!(created[0].get("launchType").is_none(), "{}", created[0]);

    let s = status(&p, "echo").await.json();
    assert_eq!(
        s["annotations"], body["annotations"],
        "status shows the annotations as deployed"
    );
}

#[tokio::test]
async fn a_gpu_function_runs_on_ec2_with_its_placement() {
    needs_emulator!();
    let account = Account::new().await;
    let p = provider(&account, &account.security_group).await;
    let a = deploy(
        &p,
        with(
            json!({"com.openfaas.profile": "gpu"}),
            json!(["attribute:ecs.os-type == linux"]),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let td = task_definition_of(&account, "echo").await;
    let gpu = &td.container_definitions()[0].resource_requirements()[0];
    assert_eq!((gpu.r#type(), gpu.value()), (&ResourceType::Gpu, "1"));
    let register = &account.sent("RegisterTaskDefinition")[0];
    assert!(
        register.get("requiresCompatibilities").is_none(),
        "{register}"
    );
    let created = &account.sent("CreateService")[0];
    assert_eq!(created["launchType"], "EC2");
    assert_eq!(
        created["placementConstraints"],
        json!([
            {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ g5.*"},
            {"type": "memberOf", "expression": "attribute:ecs.os-type == linux"},
        ])
    );
    assert_eq!(
        created["placementStrategy"],
        json!([{"type": "binpack", "field": "memory"}])
    );
}

#[tokio::test]
async fn what_cannot_be_honoured_is_400_and_nothing_is_made() {
    needs_emulator!();
    let account = Account::new().await;
    let p = provider(&account, &account.security_group).await;
    for (body, says) in [
        (
            with(json!({"com.openfaas.profile": "spot,gold"}), json!([])),
            "profile gold",
        ),
        (
            with(json!({"com.openfaas.serviceaccount": "admin"}), json!([])),
            "service account admin",
        ),
        (
            with(json!({}), json!(["node.role == manager"])),
            "node.role == manager",
        ),
        (
            with(json!({}), json!(["attribute:ecs.instance-type =~ g5.*"])),
            "Fargate",
        ),
        (
            with(json!({"com.openfaas.profile": "gpu,disk"}), json!([])),
            "ephemeralStorageGiB",
        ),
        (
            with(
                json!({"com.openfaas.profile": "graviton"}),
                json!(["kubernetes.io/os=windows"]),
            ),
            "Windows",
        ),
        (
            with(
                json!({"com.openfaas.health.http.path": "/$(reboot)"}),
                json!([]),
            ),
            "com.openfaas.health.http.path",
        ),
    ] {
        let a = deploy(&p, body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
        assert!(a.text().contains(says), "{body}: {}", a.text());
    }
    assert!(service(&account, "echo").await.is_none());
    assert!(active_revisions(&account).await.is_empty());
    assert!(cloudmap_services(&account).await.is_empty());
    assert!(account.sent("RegisterTaskDefinition").is_empty());
}

#[tokio::test]
async fn update_moves_a_function_between_profiles_and_keeps_its_replicas() {
    needs_emulator!();
    let account = Account::new().await;
    let p = provider(&account, &account.security_group).await;
    assert_eq!(deploy(&p, echo()).await.status, StatusCode::ACCEPTED);
    assert_eq!(scale(&p, "echo", 3).await.status, StatusCode::ACCEPTED);
    let before = service(&account, "echo").await.unwrap();

    let moved = update(
        &p,
        with(json!({"com.openfaas.profile": "spot,graviton"}), json!([])),
    )
    .await;
    assert_eq!(moved.status, StatusCode::ACCEPTED, "{}", moved.text());
    let after = service(&account, "echo").await.unwrap();
    assert_ne!(
        after.task_definition(),
        before.task_definition(),
        "a new revision"
    );
    assert_eq!(after.desired_count(), 3, "no replica lost");
    let td = task_definition_of(&account, "echo").await;
    assert_eq!(
        td.runtime_platform().and_then(|p| p.cpu_architecture()),
        Some(&CpuArchitecture::Arm64)
    );
    let updated = account.sent("UpdateService");
    let last = updated.last().unwrap();
    assert_eq!(
        last["capacityProviderStrategy"],
        json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    );
    assert_eq!(last["forceNewDeployment"], true);
    assert!(last.get("desiredCount").is_none(), "{last}");
    assert_eq!(tag(after.tags(), "openfaas:profile:spot"), Some("1"));

    // Back to the defaults: the profile tags go, the platform is ECS's default again.
    let back = update(&p, echo()).await;
    assert_eq!(back.status, StatusCode::ACCEPTED, "{}", back.text());
    let svc = account
        .aws
        .ecs
        .describe_services()
        .cluster(&account.cluster)
        .services("echo")
        .include(ServiceField::Tags)
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    assert_eq!(svc.desired_count(), 3);
    // Fargate's launch type is the FARGATE capacity provider: the one way back ECS allows.
    assert_eq!(
        account.sent("UpdateService").last().unwrap()["capacityProviderStrategy"],
        json!([{"capacityProvider": "FARGATE", "weight": 1}])
    );
    assert!(
        tag(svc.tags(), "openfaas:profile:spot").is_none(),
        "{:?}",
        svc.tags()
    );
    assert!(
        task_definition_of(&account, "echo")
            .await
            .runtime_platform()
            .is_none()
    );

    // A move ECS cannot make in place is refused before anything changes.
    let revisions = active_revisions(&account).await;
    let refused = update(&p, with(json!({"com.openfaas.profile": "gpu"}), json!([]))).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert!(
        refused.text().contains("delete the function"),
        "{}",
        refused.text()
    );
    assert_eq!(active_revisions(&account).await, revisions);
}

#[tokio::test]
async fn a_profile_with_a_role_not_allowed_stops_the_provider_at_start() {
    needs_emulator!();
    let account = Account::new().await;
    let config = account.config_with(&[format!(
        "--profiles={}",
        json!({"admin": {"taskRoleArn": "arn:aws:iam::123456789012:role/admin"}})
    )]);
    let e = config.validate().unwrap_err().to_string();
    assert!(
        e.contains("FAAS_ECS_PROFILES") && e.contains("role/admin"),
        "{e}"
    );
}
