"""``python -m mockserver`` is ``cxmock``."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="cxmock")
