//! `faas-ecs-cleanup` on the emulator: functions in two namespaces with secrets, and things of the
//! same kinds that faas-ecs did not make; a dry run changes nothing, the cleanup leaves nothing
//! tagged `managed-by=faas-ecs` and every untagged thing in place, and a second run finds nothing.

use aws_sdk_ecs::types::{
    ContainerDefinition, ServiceField, TaskDefinitionField, TaskDefinitionStatus,
};
use axum::http::{Method, StatusCode};
use faas_ecs::backend::ecs::cleanup::{self, Leftovers, Stack};
use faas_ecs::model::Namespace;
use serde_json::json;

use crate::support::{Account, TestApp, call, deploy, echo};

fn stack(account: &Account) -> Stack {
    Stack {
        cluster: account.cluster.clone(),
        cloudmap_namespace_id: account.namespace_id.clone(),
        secret_prefix: "openfaas/".into(),
        default_namespace: Namespace::default_namespace(),
    }
}

/// What the emulator holds: `(ECS services, active task definitions, Cloud Map service names,
/// secret names)`, each as `(name, tagged managed-by=faas-ecs)`.
async fn holdings(account: &Account) -> [Vec<(String, bool)>; 4] {
    let aws = &account.aws;
    let ours = |key: Option<&str>, value: Option<&str>| {
        key == Some("managed-by") && value == Some("faas-ecs")
    };
    let arns = aws
        .ecs
        .list_services()
        .cluster(&account.cluster)
        .send()
        .await
        .unwrap()
        .service_arns()
        .to_vec();
    let mut services = Vec::new();
    if !arns.is_empty() {
        for s in aws
            .ecs
            .describe_services()
            .cluster(&account.cluster)
            .set_services(Some(arns))
            .include(ServiceField::Tags)
            .send()
            .await
            .unwrap()
            .services()
        {
            if s.status() == Some("ACTIVE") {
                let tagged = s.tags().iter().any(|t| ours(t.key(), t.value()));
                services.push((s.service_name().unwrap().to_string(), tagged));
            }
        }
    }
    let mut definitions = Vec::new();
    for arn in aws
        .ecs
        .list_task_definitions()
        .status(TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
    {
        let out = aws
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .unwrap();
        let tagged = out.tags().iter().any(|t| ours(t.key(), t.value()));
        definitions.push((arn.rsplit('/').next().unwrap().to_string(), tagged));
    }
    let mut registries = Vec::new();
    for s in aws
        .servicediscovery
        .list_services()
        .send()
        .await
        .unwrap()
        .services()
    {
        let tags = aws
            .servicediscovery
            .list_tags_for_resource()
            .resource_arn(s.arn().unwrap())
            .send()
            .await
            .unwrap();
        let tagged = tags
            .tags()
            .iter()
            .any(|t| ours(Some(t.key()), Some(t.value())));
        registries.push((s.name().unwrap().to_string(), tagged));
    }
    let mut secrets = Vec::new();
    for s in aws
        .secretsmanager
        .list_secrets()
        .send()
        .await
        .unwrap()
        .secret_list()
    {
        if s.deleted_date().is_none() {
            let tagged = s.tags().iter().any(|t| ours(t.key(), t.value()));
            secrets.push((s.name().unwrap().to_string(), tagged));
        }
    }
    for list in [
        &mut services,
        &mut definitions,
        &mut registries,
        &mut secrets,
    ] {
        list.sort();
    }
    [services, definitions, registries, secrets]
}

/// Things of every kind that faas-ecs did not make, some with names it would use.
async fn foreign_things(account: &Account) {
    let aws = &account.aws;
    let td = aws
        .ecs
        .register_task_definition()
        .family("openfaas-fn_hand-made")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("nginx")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.ecs
        .create_service()
        .cluster(&account.cluster)
        .service_name("hand-made")
        .task_definition(td.task_definition().unwrap().task_definition_arn().unwrap())
        .desired_count(0)
        .send()
        .await
        .unwrap();
    aws.servicediscovery
        .create_service()
        .name("hand-made")
        .namespace_id(&account.namespace_id)
        .send()
        .await
        .unwrap();
    // A namespace record as Terraform makes it: faas-ecs's form, Terraform's to remove.
    let tag = |k: &str, v: &str| {
        aws_sdk_servicediscovery::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    aws.servicediscovery
        .create_service()
        .name("_namespace.team-b")
        .namespace_id(&account.namespace_id)
        .r#type(aws_sdk_servicediscovery::types::ServiceTypeOption::Http)
        .tags(tag("managed-by", "faas-ecs"))
        .tags(tag("openfaas:namespace", "team-b"))
        .tags(tag("openfaas:kind", "namespace"))
        .tags(tag("openfaas:terraform", "true"))
        .send()
        .await
        .unwrap();
    aws.secretsmanager
        .create_secret()
        .name("openfaas/openfaas-fn/hand-made")
        .secret_string("not ours")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn cleanup_removes_what_faas_ecs_made_and_nothing_else() {
    needs_emulator!();
    let account = Account::new().await;
    let mut config = account.config();
    config.functions.secrets_image = Some("faas-ecs:test".into());
    let p = TestApp::on(account.backend_with(&config).await).router();
    let made = call(
        &p,
        Method::POST,
        "/system/namespace/",
        Some(json!({"name": "team-a", "labels": {"openfaas": "1"}})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    for namespace in ["openfaas-fn", "team-a"] {
        let secret = call(
            &p,
            Method::POST,
            "/system/secrets",
            Some(json!({"name": "db", "value": "s3cret", "namespace": namespace})),
        )
        .await;
        assert_eq!(secret.status, StatusCode::CREATED, "{}", secret.text());
        let mut body = echo();
        body["namespace"] = json!(namespace);
        body["secrets"] = json!(["db"]);
        let a = deploy(&p, body).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    }
    foreign_things(&account).await;
    let before = holdings(&account).await;

    let found = cleanup::find(&account.aws, &stack(&account)).await.unwrap();
    let mut services = found.services.clone();
    services.sort();
    assert_eq!(services, ["echo", "team-a_echo"]);
    assert_eq!(
        found.task_definitions.len(),
        2,
        "{:?}",
        found.task_definitions
    );
    let mut registries: Vec<&str> = found
        .cloudmap_services
        .iter()
        .map(|(_, name)| name.as_str())
        .collect();
    registries.sort();
    assert_eq!(registries, ["_namespace.team-a", "echo", "echo.team-a"]);
    assert_eq!(found.secrets.len(), 2, "{:?}", found.secrets);
    assert_eq!(holdings(&account).await, before, "finding changes nothing");

    cleanup::remove(&account.aws, &stack(&account), &found)
        .await
        .unwrap();
    let [services, definitions, registries, secrets] = holdings(&account).await;
    for (kind, left) in [
        ("ECS services", &services),
        ("task definitions", &definitions),
        ("Cloud Map services", &registries[1..].to_vec()),
        ("secrets", &secrets),
    ] {
        assert!(
            left.iter().all(|(_, ours)| !ours),
            "{kind} of faas-ecs left: {left:?}"
        );
    }
    assert_eq!(services, [("hand-made".to_string(), false)]);
    assert_eq!(
        definitions,
        [("openfaas-fn_hand-made:1".to_string(), false)]
    );
    assert_eq!(
        registries,
        [
            ("_namespace.team-b".to_string(), true),
            ("hand-made".to_string(), false)
        ],
        "Terraform's namespace record is left for terraform destroy"
    );
    assert_eq!(
        secrets,
        [("openfaas/openfaas-fn/hand-made".to_string(), false)]
    );

    let again = cleanup::find(&account.aws, &stack(&account)).await.unwrap();
    assert_eq!(again, Leftovers::default(), "a second run finds nothing");
}
