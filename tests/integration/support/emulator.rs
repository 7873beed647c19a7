//! The emulator: whether it runs, and a private account on it with the network, cluster and
//! Cloud Map namespace Terraform would make.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_ecs::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, Request};
use faas_ecs::backend::ecs::{AwsClients, EcsBackend};
use faas_ecs::config::Config;
use http_body_util::BodyExt;

use super::app::TestApp;
use super::no_endpoints;

/// Whether the emulator runs (scripts/test sets MOTO_URL); says once when it does not.
pub fn emulator_running() -> bool {
    static SAID: std::sync::Once = std::sync::Once::new();
    let running = std::env::var_os("MOTO_URL").is_some();
    if !running {
        // Past the test harness's capture (which takes eprintln!), so that it is seen.
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "emulator tests skipped: MOTO_URL is not set (scripts/test starts moto and runs them)"
            );
        });
    }
    running
}

pub fn moto_url() -> String {
    std::env::var("MOTO_URL")
        .expect("MOTO_URL is not set: run the tests with scripts/test, which starts the emulator")
}

/// ECS requests as sent on the wire: `(operation, JSON body)`.
type Sent = Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>;

/// Gives every SDK request a moto account of its own, so tests run in parallel on one server,
/// and keeps the ECS requests as sent (moto drops some fields AWS keeps, EMULATOR.md).
#[derive(Debug, Clone)]
struct MotoAccount(String, Sent);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_ecs::error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        let request = context.request();
        let ecs_operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.strip_prefix("AmazonEC2ContainerServiceV20141113."));
        if let (Some(operation), Some(body)) = (ecs_operation, request.body().bytes())
            && let Ok(json) = serde_json::from_slice(body)
        {
            self.1.lock().unwrap().push((operation.to_string(), json));
        }
        Ok(())
    }
}

/// A fresh emulator account with the network, cluster and Cloud Map namespace Terraform would make.
pub struct Account {
    pub id: String,
    pub aws: AwsClients,
    pub subnet: String,
    pub security_group: String,
    pub namespace_id: String,
    pub cluster: String,
    vpc: String,
    sent: Sent,
}

static NEXT_ACCOUNT: AtomicU32 = AtomicU32::new(0);

impl Account {
    pub async fn new() -> Self {
        let n = NEXT_ACCOUNT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:06}{:06}", std::process::id() % 1_000_000, n);
        let sdk = faas_ecs::aws::loader()
            .region("us-east-1")
            .endpoint_url(moto_url())
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let sent = Sent::default();
        let aws = AwsClients::with_interceptor(&sdk, &MotoAccount(id.clone(), sent.clone()));

        let vpc = ec2(&id, "Action=CreateVpc&CidrBlock=10.0.0.0%2F16", "vpcId").await;
        let subnet = ec2(
            &id,
            &format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock=10.0.1.0%2F24"),
            "subnetId",
        )
        .await;
        let security_group = ec2(
            &id,
            &format!("Action=CreateSecurityGroup&VpcId={vpc}&GroupName=functions&GroupDescription=functions"),
            "groupId",
        )
        .await;
        let cluster = "openfaas".to_string();
        aws.ecs
            .create_cluster()
            .cluster_name(&cluster)
            .send()
            .await
            .unwrap();
        let op = aws
            .servicediscovery
            .create_private_dns_namespace()
            .name("openfaas.local")
            .vpc(&vpc)
            .send()
            .await
            .unwrap();
        let op = aws
            .servicediscovery
            .get_operation()
            .operation_id(op.operation_id().unwrap())
            .send()
            .await
            .unwrap();
        let namespace_id = op.operation().unwrap().targets().unwrap()
            [&aws_sdk_servicediscovery::types::OperationTargetType::Namespace]
            .clone();
        Self {
            id,
            aws,
            subnet,
            security_group,
            namespace_id,
            cluster,
            vpc,
            sent,
        }
    }

    /// Another security group in the account's VPC.
    pub async fn security_group(&self, name: &str) -> String {
        ec2(
            &self.id,
            &format!(
                "Action=CreateSecurityGroup&VpcId={}&GroupName={name}&GroupDescription={name}",
                self.vpc
            ),
            "groupId",
        )
        .await
    }

    /// The bodies of the ECS `operation` requests sent so far, in order.
    pub fn sent(&self, operation: &str) -> Vec<serde_json::Value> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The provider's configuration for this account, as scripts/dev would set it.
    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    /// [`Account::config`] with more flags (`--profiles=...`).
    pub fn config_with(&self, extra: &[String]) -> Config {
        use clap::Parser;
        Config::try_parse_from(
            [
                "faas-ecs".to_string(),
                format!("--subnets={}", self.subnet),
                format!("--security-groups={}", self.security_group),
                format!("--cloudmap-namespace-id={}", self.namespace_id),
                format!(
                    "--execution-role-arn=arn:aws:iam::{}:role/openfaas-function-execution",
                    self.id
                ),
                format!("--cluster={}", self.cluster),
            ]
            .into_iter()
            .chain(extra.iter().cloned()),
        )
        .unwrap()
    }

    pub async fn backend_with(&self, config: &Config) -> Arc<EcsBackend> {
        config.validate().unwrap();
        let settings = config.ecs_settings("us-east-1");
        EcsBackend::start(self.aws.clone(), settings, no_endpoints())
            .await
            .unwrap()
    }

    /// A provider on this account, as a router.
    pub async fn provider(&self) -> Router {
        TestApp::on(self.backend_with(&self.config()).await).router()
    }
}

/// One EC2 Query API call (signed as the SDK would); returns the text of the first `<field>`.
/// The EC2 SDK crate would cost minutes of build time for three fixture calls.
async fn ec2(account: &str, action: &str, field: &str) -> String {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let url = format!("{}/", moto_url());
    let body = format!("{action}&Version=2016-11-15");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header("x-moto-account-id", account)
        .body(http_body_util::Full::new(Bytes::from(body.clone())))
        .unwrap();
    let identity = Credentials::new("test", "test", None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        let name = axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(status.is_success(), "EC2 {action}: {status} {text}");
    let open = format!("<{field}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        + open.len();
    let end = start + text[start..].find('<').unwrap();
    text[start..end].to_string()
}
