//! Integration tests: the HTTP API on the in-memory backend, and the ECS backend on the moto emulator.
//! Without an emulator (a bare `cargo test`) the emulator suites return at once, saying so once;
//! scripts/test starts moto and the local task runtime and runs everything.

/// Ends an emulator test early when no emulator runs.
macro_rules! needs_emulator {
    () => {
        if !crate::support::emulator_running() {
            return;
        }
    };
}

mod api;
mod cleanup;
mod e2e;
mod emulator;
mod namespaces;
mod profiles;
mod proxy;
mod scaling;
mod server;
mod support;
