//! faas-ecs: the OpenFaaS provider for AWS ECS and Cloud Map.

pub mod app;
pub mod auth;
pub mod aws;
pub mod backend;
pub mod config;
pub mod error;
pub mod failure;
pub mod handlers;
pub mod io;
pub mod metrics;
pub mod model;
pub mod namespace_resolver;
pub mod proxy;
pub mod resolver;
pub mod routes;
pub mod scaling;
pub mod server;
pub mod state;

pub use routes::router;
pub use state::AppState;
