//! Runs in a function's task before the function (ECS `dependsOn` SUCCESS): writes the secrets
//! ECS injected as environment variables into files, one per secret, with the exact bytes.
//! `OPENFAAS_SECRETS` lists the names in order; `OPENFAAS_SECRET_<i>` holds the i-th value as
//! base64. The folder (default /var/openfaas/secrets) is a task volume the function mounts
//! read-only. Values are never printed.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use base64::Engine;
use faas_ecs::backend::ecs::task_definition::SECRETS_PATH;
use faas_ecs::model::SecretName;

fn write_secret(dir: &Path, index: usize, name: &str) -> Result<(), String> {
    let name = SecretName::parse(name).map_err(|e| e.to_string())?;
    let encoded = std::env::var(format!("OPENFAAS_SECRET_{index}"))
        .map_err(|_| format!("secret {name} was not injected (OPENFAAS_SECRET_{index})"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| format!("secret {name} is not base64; was it created through faas-ecs?"))?;
    // Write beside, then rename: the function never sees half a secret.
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut file =
        std::fs::File::create(&temporary).map_err(|e| format!("{}: {e}", temporary.display()))?;
    file.write_all(&bytes)
        .map_err(|e| format!("{}: {e}", temporary.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o444))
        .map_err(|e| e.to_string())?;
    std::fs::rename(&temporary, dir.join(name.as_str())).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| SECRETS_PATH.to_string());
    let dir = Path::new(&dir);
    let names = std::env::var("OPENFAAS_SECRETS").unwrap_or_default();
    let names: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("faas-ecs-secrets: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (index, name) in names.iter().enumerate() {
        if let Err(e) = write_secret(dir, index, name) {
            eprintln!("faas-ecs-secrets: {e}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "faas-ecs-secrets: wrote {} secret(s) to {}: {}",
        names.len(),
        dir.display(),
        names.join(", ")
    );
    ExitCode::SUCCESS
}
