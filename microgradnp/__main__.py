"""`python -m microgradnp demo [--out DIR] [--quick] [--seed N]`: the command line."""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m microgradnp",
        description="microgradnp: a small reverse-mode autograd engine on NumPy.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train linear, logistic, softmax and MLP models; print tables, write pictures",
        description="A tour of microgradnp and nn: linear regression three ways, logistic "
                    "regression, softmax regression vs an MLP on 8x8 digits, and the "
                    "computation graph of a small MLP with its gradient check.",
    )
    demo.add_argument("--out", default="demo-output", metavar="DIR",
                      help="directory for the pictures (default: %(default)s)")
    demo.add_argument("--quick", action="store_true",
                      help="fewer epochs: a smoke run in a few seconds")
    demo.add_argument("--seed", type=int, default=0,
                      help="seed for data, initialisation and shuffling (default: %(default)s)")
    return parser


def main(argv=None):
    """Entry point; `argv` defaults to `sys.argv[1:]`. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        run(out=args.out, quick=args.quick, seed=args.seed)
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
