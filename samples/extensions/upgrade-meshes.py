"""The control planes of samples/mesh-v2.6 and samples/mesh-v3.0 after `migrate` (build.sh meshes)."""
import sys

root = sys.argv[1]


def edit(path, f):
    p = f"{root}/{path}"
    with open(p) as fh:
        s = fh.read()
    with open(p, "w") as fh:
        fh.write(f(s))


edit("mesh-v2.6/istio-system/control-plane.yaml", lambda s: s
     .replace("# The control plane of the sample mesh: OpenShift Service Mesh 2.1 with Istiod telemetry.",
              "# The sample mesh after its upgrade to OpenShift Service Mesh 2.6: the same workloads, the\n"
              "# ServiceMeshExtensions converted by `meshext-lint migrate samples/mesh --to v2.6 --in-place`\n"
              "# (samples/extensions/build.sh meshes), their images repackaged for the WasmPlugin fetcher.")
     .replace("  version: v2.1\n", "  version: v2.6\n")
     .replace("  techPreview:\n    wasmExtensions:\n      enabled: true\n", ""))
with open(f"{root}/mesh-v3.0/istio-system/control-plane.yaml", "w") as fh:
    fh.write(
        "# The sample mesh on OpenShift Service Mesh 3.0: upstream Istio 1.24 installed by the Sail\n"
        "# operator's `Istio` resource. The ServiceMeshExtensions were converted by `meshext-lint migrate\n"
        "# samples/mesh --to v3.0 --in-place --variant artifact` (samples/extensions/build.sh meshes),\n"
        "# their images repackaged as OCI Wasm artifacts (the 2.6 sample uses the compat variant).\n"
        "# Membership follows the namespaces' injection labels (no member roll on 3.x).\n"
        "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata:\n  name: default\nspec:\n"
        "  version: v1.24.3\n  namespace: istio-system\n  values:\n    meshConfig:\n"
        "      accessLogFile: /dev/stdout\n")
edit("mesh-v3.0/shop/namespace.yaml", lambda s: s.replace(
    "    maistra.io/member-of: istio-system", "    istio-injection: enabled"))
edit("mesh-v3.0/payments/api.yaml", lambda s: s.replace(
    "kind: Namespace\nmetadata:\n  name: payments\n",
    "kind: Namespace\nmetadata:\n  name: payments\n  labels:\n    istio-injection: enabled\n", 1))
