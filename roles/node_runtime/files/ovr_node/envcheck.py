# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovr-check-env [--require K1,K2] FILE: check an env file before it replaces the live one.

Every line is blank, a comment, or KEY=VALUE in the collection's env-file dialect (``envfile``:
what the ovr.fleet.to_env_file filter writes); no key is set twice; every required key is
present and not empty. Exit 0 when the file is fine, 1 with one line per problem otherwise,
2 on bad usage. Run as ``python3 -m ovr_node.envcheck`` by the launcher
<ovr_libexec_dir>/ovr-check-env (ovr.fleet.node_runtime); the roles use it as the
``validate:`` command of the env files they write.
"""

import argparse
import sys

from . import envfile


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ovr-check-env", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--require", default="", metavar="K1,K2", help="keys that must be present and not empty")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    required = [key for key in args.require.split(",") if key]
    try:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print("%s: cannot read: %s" % (args.file, exc), file=sys.stderr)
        return 1
    found = envfile.problems(text, required)
    for problem in found:
        print("%s: %s" % (args.file, problem), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
