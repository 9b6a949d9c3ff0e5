# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python3 lab/gxsim`` runs the simulator CLI (see gxsim.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gxsim import main  # noqa: E402  pylint: disable=wrong-import-position

sys.exit(main())
