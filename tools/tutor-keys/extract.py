"""
Prints, as JSON, every config key one Tutor version defines with the given plugins
enabled: Tutor's base.yml and defaults.yml plus each plugin's `unique`, `defaults`
and `overrides` entries, read through Tutor's own hooks (not by parsing its files).

    PYTHONPATH=<a Tutor source tree with the plugins> python3 extract.py mfe forum

Used by `npx tsx tools/tutor-keys/write.ts` (which writes config/tutor/keys.json)
and by the test that checks that file against the vendored Tutor of each series.
"""
import importlib
import json
import sys

# Debian ships pycryptodome as "Cryptodome"; Tutor imports "Crypto" (only its key generators need it).
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

from tutor import config, hooks, plugins  # noqa: E402
from tutor.__about__ import __version__  # noqa: E402

hooks.Actions.CORE_READY.do()
for name in sys.argv[1:]:
    plugins.load(name)
keys = set(config.get_base().keys()) | set(config.get_defaults().keys())
print(json.dumps({"version": __version__, "plugins": sys.argv[1:], "keys": sorted(keys)}))
