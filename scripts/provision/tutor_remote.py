"""
The part of the Tutor provisioning that runs on the appserver VM, sent by
scripts/provision/tutor.ts over SSH. Its command line is a constant bootstrap:

    sudo -n /usr/bin/python3 -u -c 'import json,sys;exec(json.loads(sys.stdin.readline()))'

Standard input: line 1 is this program (as a JSON string), line 2 the request
(JSON: Tutor and plugin versions, config.yml, the openedx_im plugin and its data,
the image to build, the expected port). Nothing else is read; no value reaches a
shell or a command line except versions checked against a strict pattern.
Standard input then stays open: when it closes before the run ends (the wrapper
was stopped, even by kill -9, or the connection dropped), the running step and
everything it started is killed and the run stops.

Steps: install Docker and Tutor at the pinned versions in a virtualenv (no
curl | sh) → write config.yml and the plugin (0600, root only) → `tutor config
save` → check CADDY_HTTP_PORT is the port the load balancer uses → build the
openedx image when asked → `tutor local launch --non-interactive`.
Exit status: 0 done; 64 bad request; 65 wrong port; 70 unsupported VM; otherwise the failing step's.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading

request = json.loads(sys.stdin.readline())

EXACT = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
COMMIT = re.compile(r"^main@[0-9a-f]{7,40}$")
PLUGIN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
REPOSITORIES = {"tutor": "overhangio/tutor", "mfe": "overhangio/tutor-mfe", "forum": "overhangio/tutor-forum"}

current = {"process": None, "done": False}


def say(line):
    print("[openedx-im] " + line, flush=True)


def fail(message, status):
    say("FAILED: " + message)
    sys.exit(status)


def watch_stdin():
    # Returns only when the wrapper's end of the pipe closes.
    sys.stdin.read()
    if current["done"]:
        return
    process = current["process"]
    if process is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    say("standard input closed: the wrapper stopped; run abandoned")
    os._exit(143)


def run(args, env, cwd=None):
    say("$ " + " ".join(args))
    process = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True)
    current["process"] = process
    status = process.wait()
    current["process"] = None
    if status != 0:
        fail("{} exited {}".format(args[0] if len(args) < 2 else " ".join(args[:3]), status), status if 0 < status < 256 else 1)


def output(args, env):
    return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True).stdout


def pip_spec(package, version):
    if EXACT.match(version):
        return "{}=={}".format("tutor" if package == "tutor" else "tutor-" + package, version)
    if COMMIT.match(version) and package in REPOSITORIES:
        name = "tutor" if package == "tutor" else "tutor-" + package
        return "{} @ git+https://github.com/{}.git@{}".format(name, REPOSITORIES[package], version.split("@", 1)[1])
    fail("{}: {!r} is not a pinned version".format(package, version), 64)


def write_private(path, text):
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".new", path)


threading.Thread(target=watch_stdin, daemon=True).start()

versions = {"tutor": request["tutor"]["version"], **request["tutor"]["plugins"]}
for name in versions:
    if name != "tutor" and not PLUGIN.match(name):
        fail("plugin name {!r} is not a plugin name".format(name), 64)
specs = [pip_spec(name, version) for name, version in sorted(versions.items())]
port = int(request["port"])
root = request.get("root") or "/var/lib/openedx-im/tutor"
tutor = request.get("tutorCommand")  # tests only: a tutor already installed
base_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": root, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}

if not request.get("skipInstall"):
    release = dict(line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
    if release.get("ID") != "ubuntu" or tuple(int(p) for p in release.get("VERSION_ID", "0").strip('"').split(".")) < (22, 4):
        fail("Tutor needs Ubuntu 22.04 or later (Python 3.9+, Docker Compose v2); this VM runs {} {}: set the appserver's image".format(release.get("ID"), release.get("VERSION_ID")), 70)
    apt_env = dict(base_env, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], apt_env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "docker.io", "docker-compose-v2", "python3-venv", "git"], apt_env)
    venv = "/opt/openedx-im/tutor-venv-" + re.sub(r"[^A-Za-z0-9.]+", "-", "-".join(v for _, v in sorted(versions.items())))
    if not os.path.exists(os.path.join(venv, ".complete")):
        run(["python3", "-m", "venv", venv], base_env)
        run([os.path.join(venv, "bin", "pip"), "install", "--no-input", "--disable-pip-version-check", *specs], base_env)
        open(os.path.join(venv, ".complete"), "w").close()
    tutor = [os.path.join(venv, "bin", "tutor")]

os.makedirs(os.path.join(root, "plugins"), mode=0o700, exist_ok=True)
os.chmod(root, 0o700)
# JSON is YAML: Tutor reads config.yml with a YAML parser.
write_private(os.path.join(root, "config.yml"), json.dumps(request["config"], indent=1, sort_keys=True))
write_private(os.path.join(root, "plugins", "openedx_im.py"), request["pluginCode"])
write_private(os.path.join(root, "plugins", "openedx_im.json"), json.dumps(request["pluginData"], sort_keys=True))

# Only what Tutor needs: TUTOR_<KEY> variables would override config.yml, so none is passed.
tutor_env = dict(base_env, TUTOR_ROOT=root, TUTOR_PLUGINS_ROOT=os.path.join(root, "plugins"))
run([*tutor, "config", "save"], tutor_env)
served = output([*tutor, "config", "printvalue", "CADDY_HTTP_PORT"], tutor_env).strip()
if served != str(port):
    fail("Tutor serves on port {} but the load balancer sends traffic to {}".format(served, port), 65)
say("Tutor serves on port {}, the load balancer's".format(served))

image = request.get("image") or {"build": False}
if image.get("build"):
    say("building the openedx image from the appserver's edx-platform repository and ref (30-60 minutes)")
    run([*tutor, "images", "build", "openedx"], tutor_env)
if request.get("launch", True):
    run([*tutor, "local", "launch", "--non-interactive"], tutor_env)
current["done"] = True
say("appserver launched")
