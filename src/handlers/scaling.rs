//! GET /system/scaling: this replica's load per function, for the other provider replicas.

use axum::Json;
use axum::extract::State;

use crate::scaling::peers::Report;
use crate::state::AppState;

pub async fn report(State(state): State<AppState>) -> Json<Report> {
    Json(state.scaling.report().as_ref().clone())
}
