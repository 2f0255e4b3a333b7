//! "Generated SDKs just work": a Python client generated from the committed
//! openapi/openapi.json by openapi-python-client (pinned in scripts/sdk-venv.sh) drives a
//! real gateway with a store of every platform: reads of every resource, paging by cursor,
//! a shipment (retried with an `Idempotency-Key`), product and variant writes, and problem
//! bodies parsed into the `Problem`
//! model. The generator must not warn about the document either.

use std::process::Command;

use cartgate::Registry;
use cartgate_connector::sandbox::SandboxOptions;
use serde_json::json;

use crate::harness::*;
use crate::platforms::start_sandbox;

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_generated_python_sdk_works_against_every_platform() {
    let Some(venv) = std::env::var_os("CARTGATE_SDK_VENV") else {
        eprintln!(
            "skipped: CARTGATE_SDK_VENV is not set (scripts/test.sh sets it up with \
             scripts/sdk-venv.sh)"
        );
        return;
    };
    let venv = std::path::PathBuf::from(venv);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let package = out.path().join("cartgate_client");
    // The venv's bin on PATH lets the generator format with its own ruff (else it warns).
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let generated = Command::new(venv.join("bin/openapi-python-client"))
        .args(["generate", "--meta", "none", "--path"])
        .arg(root.join("openapi/openapi.json"))
        .arg("--output-path")
        .arg(&package)
        .env("PATH", &path)
        .output()
        .unwrap();
    let said = output_text(&generated);
    assert!(generated.status.success(), "{said}");
    assert!(
        !said.to_lowercase().contains("warning"),
        "the generator warns about the document:\n{said}"
    );

    let gw = Gateway::start().await;
    let client = gw.account("sdk").await;
    let mut sandboxes = Vec::new();
    let mut stores = Vec::new();
    for platform in Registry::builtin().ids() {
        let sandbox = start_sandbox(platform, SandboxOptions::default()).await;
        let id = client.connect(platform, &sandbox.banner.credentials).await;
        stores.push(json!({"id": id, "platform": platform}));
        sandboxes.push(sandbox);
    }
    let url = gw.url.clone();
    let key = client.key.clone();
    let script = root.join("tests/sdk/python_smoke.py");
    let python = venv.join("bin/python");
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(url)
            .arg(key)
            .arg(json!(stores).to_string())
            .env("PYTHONPATH", out.path())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = output_text(&run);
    assert!(run.status.success(), "the SDK run failed:\n{said}");
    assert!(said.contains("sdk: ok"), "{said}");
    drop(sandboxes);
}
