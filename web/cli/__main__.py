"""``python -m web.cli``: the ``ruralplan`` command."""
from . import main

main()
