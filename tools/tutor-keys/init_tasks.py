"""
Prints, as JSON, the init tasks `tutor local launch` would run for the Tutor project
in $TUTOR_ROOT (its enabled plugins loaded, the openedx_im plugin among them), each
rendered with the project's config: [{"service": ..., "script": ...}].

    TUTOR_ROOT=... TUTOR_PLUGINS_ROOT=$TUTOR_ROOT/plugins PYTHONPATH=<Tutor source> python3 init_tasks.py

What `tutor local do init` iterates, without Docker (used by test/tutor-config.test.ts).
"""
import importlib
import json
import os
import sys

try:
    import Crypto  # noqa: F401
except ImportError:
    import Cryptodome

    sys.modules["Crypto"] = Cryptodome
    for sub in ["PublicKey", "PublicKey.RSA", "Random", "Hash", "Util", "Util.number", "Cipher", "Protocol", "Protocol.KDF"]:
        try:
            sys.modules["Crypto." + sub] = importlib.import_module("Cryptodome." + sub)
        except ImportError:
            pass
    from Cryptodome.PublicKey import RSA

    if not hasattr(RSA.RsaKey, "dq"):
        RSA.RsaKey.dp = property(lambda k: k.d % (k.p - 1))
        RSA.RsaKey.dq = property(lambda k: k.d % (k.q - 1))
        RSA.RsaKey.invq = property(lambda k: pow(k.q, -1, k.p))

from tutor import config as tutor_config, env, hooks  # noqa: E402
from tutor.commands import jobs  # noqa: E402,F401  (declares the core init tasks on CORE_READY)

root = os.environ["TUTOR_ROOT"]
hooks.Actions.CORE_READY.do()
hooks.Actions.PROJECT_ROOT_READY.do(root)
config = tutor_config.load_full(root)
tasks = [{"service": service, "script": env.render_str(config, script)} for service, script in hooks.Filters.CLI_DO_INIT_TASKS.iterate()]
print(json.dumps(tasks))
