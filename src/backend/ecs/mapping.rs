//! ECS service + recorded deployment -> FunctionStatus, as one pure function.

use aws_sdk_ecs::primitives::DateTimeFormat;
use aws_sdk_ecs::types::Service;

use crate::model::{FunctionDeployment, FunctionStatus, Namespace};

/// `replicas` is the desired count. `availableReplicas` is left at 0: it counts the tasks an
/// invocation can reach, which the backend asks its resolver for when a status is read.
pub fn function_status(
    service: &Service,
    deployment: &FunctionDeployment,
    namespace: &Namespace,
) -> FunctionStatus {
    let desired = u64::try_from(service.desired_count()).unwrap_or(0);
    let mut status = FunctionStatus::from_deployment(deployment, namespace.as_str(), desired, 0);
    // moto leaves the service's createdAt empty; its first deployment has the same time.
    let created = service.created_at().or_else(|| {
        service
            .deployments()
            .iter()
            .filter_map(|d| d.created_at())
            .min_by_key(|t| t.as_nanos())
    });
    status.created_at = created.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok());
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::primitives::DateTime;
    use aws_sdk_ecs::types::Deployment;

    fn deployment() -> FunctionDeployment {
        FunctionDeployment {
            service: "f".into(),
            image: "img:1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn replicas_is_the_desired_count_whatever_runs() {
        // ECS's running count is not what invocations can reach: the resolver says that.
        for running in [0, 1, 5] {
            let svc = Service::builder()
                .service_name("f")
                .desired_count(3)
                .running_count(running)
                .build();
            let s = function_status(&svc, &deployment(), &Namespace::default_namespace());
            assert_eq!((s.replicas, s.available_replicas), (3, 0));
        }
    }

    #[test]
    fn created_at_is_rfc3339_and_falls_back_to_the_first_deployment() {
        let svc = Service::builder()
            .created_at(DateTime::from_secs(1_700_000_000))
            .build();
        let s = function_status(&svc, &deployment(), &Namespace::default_namespace());
        assert_eq!(s.created_at.as_deref(), Some("2023-11-14T22:13:20Z"));
        let svc = Service::builder()
            .deployments(
                Deployment::builder()
                    .created_at(DateTime::from_secs(1_700_000_100))
                    .build(),
            )
            .deployments(
                Deployment::builder()
                    .created_at(DateTime::from_secs(1_700_000_000))
                    .build(),
            )
            .build();
        let s = function_status(&svc, &deployment(), &Namespace::default_namespace());
        assert_eq!(s.created_at.as_deref(), Some("2023-11-14T22:13:20Z"));
    }

    #[test]
    fn the_rest_is_the_deployment() {
        let svc = Service::builder().desired_count(1).build();
        let s = function_status(&svc, &deployment(), &Namespace::default_namespace());
        assert_eq!(s.image, "img:1");
        assert_eq!(s.namespace, "openfaas-fn");
        assert_eq!(s.labels["faas_function"], "f");
    }
}
