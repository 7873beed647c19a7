//! `faas-ecs-cleanup [--dry-run]`: removes everything faas-ecs made in one stack (found by its
//! `managed-by=faas-ecs` tag) before `terraform destroy`; with `--dry-run`, lists it. Reads the
//! stack from the provider's own variables (`FAAS_ECS_CLUSTER`, `FAAS_ECS_CLOUDMAP_NAMESPACE_ID`,
//! `FAAS_ECS_SECRET_PREFIX`) and AWS from the standard chain. Running it again finds nothing.

use std::process::ExitCode;

use clap::Parser;
use faas_ecs::backend::ecs::AwsClients;
use faas_ecs::backend::ecs::cleanup;
use faas_ecs::config::cleanup::Cleanup;
use faas_ecs::failure::DisplayChain;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = Cleanup::parse();
    let sdk = config.aws.loader().load().await;
    let aws = AwsClients::new(&sdk, &faas_ecs::aws::CountCalls(Default::default()));
    let stack = config.stack();
    let found = match cleanup::find(&aws, &stack).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!(
                "faas-ecs-cleanup: could not list what faas-ecs made: {}",
                DisplayChain(&e)
            );
            return ExitCode::FAILURE;
        }
    };
    if found.is_empty() {
        println!(
            "nothing of faas-ecs's in cluster {} and Cloud Map namespace {}",
            stack.cluster, stack.cloudmap_namespace_id
        );
        return ExitCode::SUCCESS;
    }
    let verb = if config.dry_run {
        "would remove"
    } else {
        "removing"
    };
    for line in found.lines() {
        println!("{verb} {line}");
    }
    if config.dry_run {
        return ExitCode::SUCCESS;
    }
    match cleanup::remove(&aws, &stack, &found).await {
        Ok(()) => {
            println!("removed {} things", found.lines().len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "faas-ecs-cleanup: {}; run it again to remove the rest",
                DisplayChain(&e)
            );
            ExitCode::FAILURE
        }
    }
}
