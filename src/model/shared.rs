//! Facts several layers share: the provider's paths and limits, the watchdog's port, and how a
//! function is named in AWS and DNS (the backend creates by these names, the resolvers find tasks
//! by them). Functions of `openfaas-fn` keep the names they had before faas-ecs had namespaces
//! (whatever `FAAS_ECS_DEFAULT_NAMESPACE` says); those of every other namespace carry it, joined
//! by a character no function or namespace name has, so that no two functions share an AWS name.

use std::borrow::Cow;

use super::{DEFAULT_NAMESPACE, FunctionId, Namespace};

/// Where invocations start: `/function/<name>[.<namespace>][/<path>]`.
pub const INVOKE_PREFIX: &str = "/function/";

/// Marks the answers the proxy makes itself, not the function.
pub const INTERNAL_HEADER: &str = "x-openfaas-internal";

/// Where provider replicas read each other's load.
pub const PEERS_PATH: &str = "/system/scaling";

/// Largest body a `/system` request may have.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The port every function's watchdog listens on (dev/runtime/facts.py says the same).
pub const WATCHDOG_PORT: u16 = 8080;

/// Cloud Map services that stand for a namespace start with this; no function's can (function
/// names have no `_`).
pub const NAMESPACE_MARKER_PREFIX: &str = "_namespace.";

fn unqualified(id: &FunctionId) -> bool {
    id.namespace.as_str() == DEFAULT_NAMESPACE
}

/// The ECS service: `echo`, `team-a_echo` (ECS names allow letters, digits, `-` and `_`).
pub fn ecs_service(id: &FunctionId) -> Cow<'_, str> {
    if unqualified(id) {
        Cow::Borrowed(id.name.as_str())
    } else {
        Cow::Owned(format!("{}_{}", id.namespace, id.name))
    }
}

/// The Cloud Map service, which is also the DNS name under the Cloud Map namespace: `echo`
/// (`echo.openfaas.local`), `echo.team-a` (`echo.team-a.openfaas.local`).
pub fn cloudmap_service(id: &FunctionId) -> Cow<'_, str> {
    if unqualified(id) {
        Cow::Borrowed(id.name.as_str())
    } else {
        Cow::Owned(format!("{}.{}", id.name, id.namespace))
    }
}

/// The Cloud Map service (of type HTTP: no DNS records) that records a namespace.
pub fn namespace_marker(namespace: &Namespace) -> String {
    format!("{NAMESPACE_MARKER_PREFIX}{namespace}")
}

/// The namespace a marker's Cloud Map service name stands for.
pub fn namespace_of_marker(service_name: &str) -> Option<Namespace> {
    Namespace::parse(service_name.strip_prefix(NAMESPACE_MARKER_PREFIX)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ns: &str, name: &str) -> FunctionId {
        FunctionId::parse(ns, name).unwrap()
    }

    #[test]
    fn the_same_name_in_two_namespaces_gives_distinct_aws_names() {
        let plain = id("openfaas-fn", "echo");
        let a = id("team-a", "echo");
        assert_eq!(ecs_service(&plain), "echo");
        assert_eq!(ecs_service(&a), "team-a_echo");
        assert_eq!(cloudmap_service(&plain), "echo");
        assert_eq!(cloudmap_service(&a), "echo.team-a");
        // A default-namespace function named like a namespace keeps to its own name.
        let named_like_ns = id("openfaas-fn", "team-a");
        assert_ne!(cloudmap_service(&named_like_ns), cloudmap_service(&a));
        assert_ne!(ecs_service(&named_like_ns), ecs_service(&a));
    }

    #[test]
    fn markers_are_told_apart_from_functions() {
        let ns = Namespace::parse("team-a").unwrap();
        assert_eq!(namespace_of_marker(&namespace_marker(&ns)), Some(ns));
        assert_eq!(namespace_of_marker("echo.team-a"), None);
        assert_eq!(namespace_of_marker("echo"), None);
    }
}
