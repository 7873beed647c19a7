//! OpenFaaS secrets in AWS Secrets Manager, named `<prefix><namespace>/<name>` and tagged as
//! this provider's. The value is stored as base64 text: ECS injects only text into a task, and
//! the task's secrets container turns it back into the exact bytes.

use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use base64::Engine;

use super::error::aws_error;
use super::tags::{MANAGED_BY_TAG, MANAGED_BY_VALUE, NAMESPACE_TAG};
use async_trait::async_trait;

use super::EcsBackend;
use crate::backend::{Error, SecretStore};
use crate::model::{Namespace, SecretName};

/// Tag naming the OpenFaaS secret a Secrets Manager secret holds.
pub const SECRET_TAG: &str = "openfaas:secret";

pub struct SecretsManager<'a> {
    pub client: &'a aws_sdk_secretsmanager::Client,
    /// E.g. `openfaas/`; the IAM policies grant `secret:<prefix>*`.
    pub prefix: &'a str,
}

fn has_tag(tags: &[Tag], key: &str, value: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(key) && t.value() == Some(value))
}

impl SecretsManager<'_> {
    fn aws_name(&self, namespace: &Namespace, name: &SecretName) -> String {
        format!("{}{namespace}/{name}", self.prefix)
    }

    /// Every secret of ours whose name starts with `prefix` exactly (AWS matches a name prefix
    /// without case), not deleted: `(name after the prefix, ARN, tags)`.
    async fn ours_under(&self, prefix: &str) -> Result<Vec<(String, String, Vec<Tag>)>, Error> {
        let filters = [
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(prefix)
                .build(),
            Filter::builder()
                .key(FilterNameStringType::TagKey)
                .values(MANAGED_BY_TAG)
                .build(),
        ];
        let mut pages = self
            .client
            .list_secrets()
            .set_filters(Some(filters.to_vec()))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ListSecrets", e))?;
            for secret in page.secret_list() {
                let (Some(aws_name), Some(arn)) = (secret.name(), secret.arn()) else {
                    continue;
                };
                if let Some(name) = aws_name.strip_prefix(prefix)
                    && has_tag(secret.tags(), MANAGED_BY_TAG, MANAGED_BY_VALUE)
                    && secret.deleted_date().is_none()
                {
                    found.push((name.to_string(), arn.to_string(), secret.tags().to_vec()));
                }
            }
        }
        Ok(found)
    }

    /// The namespace's secrets and their ARNs, sorted by name; names and tags checked exactly.
    pub async fn list(&self, namespace: &Namespace) -> Result<Vec<(SecretName, String)>, Error> {
        let prefix = format!("{}{namespace}/", self.prefix);
        let mut found: Vec<(SecretName, String)> = self
            .ours_under(&prefix)
            .await?
            .into_iter()
            .filter(|(_, _, tags)| has_tag(tags, NAMESPACE_TAG, namespace.as_str()))
            .filter_map(|(name, arn, _)| Some((SecretName::parse(&name).ok()?, arn)))
            .collect();
        found.sort();
        Ok(found)
    }

    /// The ARNs of every secret of ours under the provider's prefix, in every namespace.
    pub async fn all(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .ours_under(self.prefix)
            .await?
            .into_iter()
            .map(|(_, arn, _)| arn)
            .collect())
    }

    /// The ARNs of the named secrets, in order; a 400 naming the first that does not exist.
    pub async fn arns(
        &self,
        namespace: &Namespace,
        names: &[SecretName],
    ) -> Result<Vec<(SecretName, String)>, Error> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let all = self.list(namespace).await?;
        names
            .iter()
            .map(|name| {
                all.iter().find(|(n, _)| n == name).cloned().ok_or_else(|| {
                    Error::Invalid(format!(
                        "secret {name} does not exist in namespace {namespace}"
                    ))
                })
            })
            .collect()
    }

    pub async fn create(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        let tags = [
            Tag::builder()
                .key(MANAGED_BY_TAG)
                .value(MANAGED_BY_VALUE)
                .build(),
            Tag::builder()
                .key(NAMESPACE_TAG)
                .value(namespace.as_str())
                .build(),
            Tag::builder().key(SECRET_TAG).value(name.as_str()).build(),
        ];
        let result = self
            .client
            .create_secret()
            .name(self.aws_name(namespace, name))
            .description(format!(
                "OpenFaaS secret {name} (base64), managed by faas-ecs"
            ))
            .secret_string(base64::engine::general_purpose::STANDARD.encode(value))
            .set_tags(Some(tags.to_vec()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(CreateSecretError::ResourceExistsException(_)) => {
                    Err(Error::Conflict(format!("secret {name} already exists")))
                }
                _ => Err(aws_error("CreateSecret", e)),
            },
        }
    }

    /// The ARN of one of our secrets, or NotFound.
    async fn ours(&self, namespace: &Namespace, name: &SecretName) -> Result<String, Error> {
        let not_found = || Error::NotFound(format!("secret {name}"));
        let out = match self
            .client
            .describe_secret()
            .secret_id(self.aws_name(namespace, name))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeSecretError::ResourceNotFoundException(_))
                ) =>
            {
                return Err(not_found());
            }
            Err(e) => return Err(aws_error("DescribeSecret", e)),
        };
        let ours = has_tag(out.tags(), MANAGED_BY_TAG, MANAGED_BY_VALUE)
            && has_tag(out.tags(), NAMESPACE_TAG, namespace.as_str());
        match out.arn() {
            Some(arn) if ours && out.deleted_date().is_none() => Ok(arn.to_string()),
            _ => Err(not_found()),
        }
    }

    pub async fn update(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        let arn = self.ours(namespace, name).await?;
        self.client
            .put_secret_value()
            .secret_id(arn)
            .secret_string(base64::engine::general_purpose::STANDARD.encode(value))
            .send()
            .await
            .map_err(|e| aws_error("PutSecretValue", e))?;
        Ok(())
    }

    /// Deletes at once, without the recovery window, so that the name can be used again.
    pub async fn delete(&self, namespace: &Namespace, name: &SecretName) -> Result<(), Error> {
        let arn = self.ours(namespace, name).await?;
        self.delete_arn(&arn).await
    }

    /// Deletes a secret by ARN at once, without the recovery window.
    pub async fn delete_arn(&self, arn: &str) -> Result<(), Error> {
        self.client
            .delete_secret()
            .secret_id(arn)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(|e| aws_error("DeleteSecret", e))?;
        Ok(())
    }
}

#[async_trait]
impl SecretStore for EcsBackend {
    async fn list_secrets(&self, namespace: &Namespace) -> Result<Vec<SecretName>, Error> {
        Ok(self
            .secrets_manager()
            .list(namespace)
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    async fn create_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        let _namespace_kept = self.namespace_gate.read().await;
        self.check_namespace(namespace)?;
        self.secrets_manager()
            .create(namespace, name, value)
            .await?;
        tracing::info!(secret.name = %name, "secret created");
        Ok(())
    }

    async fn update_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        self.secrets_manager()
            .update(namespace, name, value)
            .await?;
        tracing::info!(secret.name = %name, "secret updated; functions read it when they are next deployed or updated");
        Ok(())
    }

    async fn delete_secret(&self, namespace: &Namespace, name: &SecretName) -> Result<(), Error> {
        self.secrets_manager().delete(namespace, name).await?;
        tracing::info!(secret.name = %name, "secret deleted");
        Ok(())
    }
}
