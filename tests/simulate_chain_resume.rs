//! Regression: a plugin that pauses and resumes from a callout answer, behind another Wasm
//! plugin in its own VM. Both VMs number their first stream context 2, and the resume used to
//! find the first filter with that id, in the other VM, so the request stalled.

mod common;

use common::{bin, root, write};

#[test]
fn a_paused_plugin_behind_another_vm_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "s.yaml",
        "requests:\n  - request: {path: /, headers: {x-user: alice}}\n    http_calls:\n      - cluster: auth\n        response: {status: 200, body: alice}\n    upstream: {status: 200, body: ok}\n    expect:\n      status: 200\n      response_headers: {a: b}\n      upstream_request_headers: {x-auth-user: alice}\n",
    );
    let build = root().join("samples/extensions/build");
    for order in [["header-append", "oob-auth"], ["oob-auth", "header-append"]] {
        let mut cmd = bin();
        cmd.arg("simulate");
        for m in order {
            cmd.arg("--module")
                .arg(build.join(format!("{m}.wasm")))
                .arg("--config")
                .arg(if m == "oob-auth" {
                    r#"{"cluster":"auth","path":"/check"}"#
                } else {
                    r#"{"a":"b"}"#
                });
        }
        let out = cmd.arg("--scenario").arg(&scenario).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{order:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
