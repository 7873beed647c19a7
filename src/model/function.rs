//! The JSON bodies of the OpenFaaS provider API (faas-provider `types`), field names as clients send them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{"memory": "128Mi", "cpu": "100m"}`: Kubernetes quantity strings, kept verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

/// Body of `POST` and `PUT /system/functions`. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeployment {
    pub service: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_process: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only_root_filesystem: bool,
}

/// Usage figures of a function, when known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUsage {
    pub cpu: f64,
    pub total_memory_bytes: f64,
}

/// One function as `GET /system/functions` and `GET /system/function/{name}` return it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatus {
    pub name: String,
    pub image: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_process: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<String>>,
    /// Always an object: clients dereference it.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Always an object: clients dereference it.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only_root_filesystem: bool,
    /// Desired count.
    pub replicas: u64,
    /// Replicas ready to receive invocations, never more than `replicas`.
    pub available_replicas: u64,
    /// Always 0 here; the gateway fills it from its own metrics.
    pub invocation_count: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<FunctionUsage>,
}

impl FunctionStatus {
    /// The status of a deployment as recorded, with the given counts.
    pub fn from_deployment(
        deployment: &FunctionDeployment,
        namespace: &str,
        replicas: u64,
        available_replicas: u64,
    ) -> Self {
        let mut labels = deployment.labels.clone().unwrap_or_default();
        labels.insert(
            super::labels::FUNCTION.to_string(),
            deployment.service.clone(),
        );
        Self {
            name: deployment.service.clone(),
            image: deployment.image.clone(),
            namespace: namespace.to_string(),
            env_process: deployment.env_process.clone(),
            env_vars: deployment.env_vars.clone(),
            constraints: deployment.constraints.clone(),
            secrets: deployment.secrets.clone(),
            labels,
            annotations: deployment.annotations.clone().unwrap_or_default(),
            limits: deployment.limits.clone(),
            requests: deployment.requests.clone(),
            read_only_root_filesystem: deployment.read_only_root_filesystem,
            replicas,
            available_replicas: available_replicas.min(replicas),
            invocation_count: 0.0,
            created_at: None,
            usage: None,
        }
    }
}

/// Body of `POST /system/scale-function/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleServiceRequest {
    #[serde(default)]
    pub service_name: String,
    /// Required: a body without it is refused, not read as zero.
    pub replicas: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Body of `DELETE /system/functions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFunctionRequest {
    pub function_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_and_null_maps_are_accepted() {
        let d: FunctionDeployment = serde_json::from_value(json!({
            "service": "f", "image": "i", "network": "func_functions",
            "registryAuth": "", "labels": null, "annotations": null
        }))
        .unwrap();
        assert_eq!(d.labels, None);
        assert_eq!(d.annotations, None);
    }

    #[test]
    fn status_keeps_absent_absent_and_empty_empty() {
        let d: FunctionDeployment = serde_json::from_value(json!({
            "service": "f", "image": "i", "envVars": {}
        }))
        .unwrap();
        let s =
            serde_json::to_value(FunctionStatus::from_deployment(&d, "openfaas-fn", 1, 0)).unwrap();
        assert_eq!(s["envVars"], json!({}));
        assert!(s.get("limits").is_none());
        assert!(s.get("constraints").is_none());
        assert!(s.get("secrets").is_none());
        assert_eq!(s["labels"], json!({"faas_function": "f"}));
        assert_eq!(s["annotations"], json!({}));
        assert_eq!(s["namespace"], "openfaas-fn");
    }

    #[test]
    fn available_replicas_never_exceed_desired() {
        let d = FunctionDeployment {
            service: "f".into(),
            image: "i".into(),
            ..Default::default()
        };
        let s = FunctionStatus::from_deployment(&d, "openfaas-fn", 2, 5);
        assert_eq!((s.replicas, s.available_replicas), (2, 2));
    }
}
