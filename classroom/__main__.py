"""python3 -m classroom COMMAND ...: see classroom/__init__.py."""
import importlib
import sys

import classroom
from classroom.config import Refused

COMMANDS = {"config": "classroom.config", "students": "classroom.students", "collect": "classroom.collect",
            "install": "classroom.runtime", "gotool": "classroom.gotool"}


def main(args):
    if not args or args[0] not in COMMANDS:
        raise SystemExit(classroom.__doc__.strip())
    try:
        importlib.import_module(COMMANDS[args[0]]).main(args[1:])
    except Refused as e:
        raise SystemExit(f"classroom: {e}") from None
    except PermissionError as e:
        raise SystemExit(f"classroom: {e.filename} is not yours to {'read' if args[0] == 'collect' else 'change'}: "
                         "run it as the class's owner (sudo for a class run as root).") from None


main(sys.argv[1:])
