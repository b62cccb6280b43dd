"""
openedx-im's Tutor plugin, the same file on every appserver: its data comes from
openedx_im.json beside it, which the program renders (components/provisioners/tutor/config.ts).

- patches: Django settings for the LMS and Studio, as Python that holds its data in
  one escaped JSON literal (Tutor renders patches as templates: nothing in them is one);
- skipInitTasks: services whose init tasks do not run. With the instance's databases on
  a shared server this is "mysql": Tutor's MySQL init creates the database and user as
  root, and the program created them already, scoped to the instance.
"""
import json
import os

from tutor import hooks

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "openedx_im.json"), encoding="utf-8") as data_file:
    _DATA = json.load(data_file)

hooks.Filters.ENV_PATCHES.add_items(sorted(_DATA.get("patches", {}).items()))

_SKIPPED_SERVICES = frozenset(_DATA.get("skipInitTasks", []))


# Low priority: runs after Tutor and the other plugins have added their tasks.
@hooks.Filters.CLI_DO_INIT_TASKS.add(priority=hooks.priorities.LOW)
def _skip_init_tasks(tasks):
    return [(service, task) for service, task in tasks if service not in _SKIPPED_SERVICES]
