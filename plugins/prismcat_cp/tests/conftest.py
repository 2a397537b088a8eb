"""The CP family's tests run where prismcat-cp is installed (pip install -e plugins/prismcat_cp)."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("prismcat_cp") else ["test_*.py"]
