//! Integration tests: the HTTP API on the in-memory backend, and the ECS backend on the moto emulator.

mod api;
mod e2e;
mod emulator;
mod proxy;
mod scaling;
mod server;
mod support;
