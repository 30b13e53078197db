"""python3 -m classroom COMMAND ...: see classroom/__init__.py."""
import importlib
import sys

import classroom
from classroom.config import Refused

COMMANDS = {"up": "classroom.up", "down": "classroom.down", "status": "classroom.status", "service": "classroom.service",
            "remove": ("classroom.down", "remove"), "install": "classroom.runtime", "publish": "classroom.lessons",
            "handout": "classroom.handout", "frontdoor": "classroom.frontdoor", "gotool": "classroom.gotool",
            "config": "classroom.config", "students": "classroom.students", "collect": "classroom.collect"}


def main(args):
    if not args or args[0] not in COMMANDS:
        raise SystemExit(classroom.__doc__.strip())
    try:
        module, function = COMMANDS[args[0]] if isinstance(COMMANDS[args[0]], tuple) else (COMMANDS[args[0]], "main")
        getattr(importlib.import_module(module), function)(args[1:])
    except Refused as e:
        raise SystemExit(f"classroom: {e}") from None
    except PermissionError as e:
        raise SystemExit(f"classroom: {e.filename} is not yours to {'read' if args[0] == 'collect' else 'change'}: "
                         "run it as the class's owner (sudo for a class run as root).") from None


main(sys.argv[1:])
