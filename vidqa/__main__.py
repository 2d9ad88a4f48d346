"""``python -m vidqa`` is the ``vidqa`` command."""

from vidqa.cli import main

if __name__ == "__main__":
    main()
