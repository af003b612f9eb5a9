# -*- test-case-name: tests.cli.test_main -*-
"""
C{python -m micro}: the C{micro} command (see L{micro._cli}).
"""

from micro._cli.main import main

if __name__ == "__main__":
    main()
