//! Stamps the git commit into the binary for /system/info, and links the binaries with packed
//! relative relocations.

fn main() {
    let sha = std::env::var("FAAS_ECS_GIT_SHA")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=FAAS_ECS_GIT_SHA={sha}");
    println!("cargo:rerun-if-env-changed=FAAS_ECS_GIT_SHA");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");

    // DT_RELR (glibc 2.36 and later, as in the Debian 12 image): the relocation table of a
    // position-independent binary shrinks from about a megabyte, all of it read at start-up and
    // so resident, to a few kilobytes.
    if std::env::var("TARGET").is_ok_and(|t| t.ends_with("-linux-gnu")) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
