//! The route table and nothing else.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::handlers::{
    delete, deploy, health, info, list, logs, namespaces, prometheus, scale, scaling, secrets,
    status, update,
};
use crate::model::shared::{MAX_BODY_BYTES, PEERS_PATH};
use crate::state::AppState;
use crate::{auth, metrics};

/// Everything but invocations (`/function/...`), which `server::serve` hands to the proxy
/// directly.
pub fn router(state: AppState) -> Router {
    let system = Router::new()
        .route(
            "/system/functions",
            get(list::list)
                .post(deploy::deploy)
                .put(update::update)
                .delete(delete::delete),
        )
        .route("/system/function/{name}", get(status::status))
        .route("/system/scale-function/{name}", post(scale::scale))
        .route(
            "/system/secrets",
            get(secrets::list)
                .post(secrets::store)
                .put(secrets::store)
                .delete(secrets::delete),
        )
        .route("/system/logs", get(logs::logs))
        .route("/system/info", get(info::info))
        .route("/system/namespaces", get(namespaces::list))
        // faas-cli creates with POST /system/namespace/ and the name in the body.
        .route("/system/namespace/", post(namespaces::create))
        .route(
            "/system/namespace/{name}",
            get(namespaces::get)
                .post(namespaces::create)
                .put(namespaces::update)
                .delete(namespaces::delete),
        )
        .route(PEERS_PATH, get(scaling::report))
        .route_layer(from_fn_with_state(state.auth.clone(), auth::require));
    // The gateway does not send credentials on these.
    let open = Router::new()
        .route("/healthz", get(health::health))
        .route("/metrics", get(prometheus::metrics));
    system
        .merge(open)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.metrics.clone(), metrics::track))
        // A span per control-plane request (method, path), its answer and latency at debug level.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
