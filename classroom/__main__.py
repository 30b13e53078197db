"""python3 -m classroom COMMAND ...: see classroom/__init__.py."""
import importlib
import sys

import classroom
from classroom.config import Refused

COMMANDS = {"config": "classroom.config", "students": "classroom.students", "collect": "classroom.collect"}


def main(args):
    if not args or args[0] not in COMMANDS:
        raise SystemExit(classroom.__doc__.strip())
    try:
        importlib.import_module(COMMANDS[args[0]]).main(args[1:])
    except Refused as e:
        raise SystemExit(f"classroom: {e}") from None


main(sys.argv[1:])
