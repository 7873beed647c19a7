//! GET /system/info

use axum::Json;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ProviderInfo {
    provider: &'static str,
    orchestration: &'static str,
    version: VersionInfo,
}

#[derive(Debug, Serialize)]
pub struct VersionInfo {
    sha: &'static str,
    release: &'static str,
}

pub async fn info() -> Json<ProviderInfo> {
    Json(ProviderInfo {
        provider: "faas-ecs",
        orchestration: "ecs",
        version: VersionInfo {
            sha: env!("FAAS_ECS_GIT_SHA"),
            release: env!("CARGO_PKG_VERSION"),
        },
    })
}
