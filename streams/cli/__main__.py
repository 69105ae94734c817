"""``python -m streams.cli``: the same as ``funnel``."""

from streams.cli import main

if __name__ == "__main__":
    main()
